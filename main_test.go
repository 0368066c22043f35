package luckystack

import (
	"testing"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

// TestMain fails the run when a test leaves goroutines behind: every Server
// a test builds must stop everything it started.
func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }
