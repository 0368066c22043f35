package conformance

import (
	"testing"

	"github.com/luckystack/luckystack-go/internal/testutil"
)

// Every server a scenario starts is shut down by its test; what is left
// running after all of them is a leak.
func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }
