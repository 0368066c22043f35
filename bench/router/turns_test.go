package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInTurnsRotatesAndPools(t *testing.T) {
	t.Parallel()
	order := []target{{name: "direct"}, {name: "router", pid: 1}, {name: "nginx", pid: 2}}
	var ran []string
	prepared, cleaned := 0, 0
	prepare := func(tg target) (turnFunc, func(), error) {
		prepared++
		turn := func() ([]time.Duration, float64, float64, error) {
			ran = append(ran, tg.name)
			// Each turn of a target answers in its own fixed time, one
			// millisecond per position in order, plus the round's index:
			// pooled, the p50 is that of all its turns.
			base := time.Duration(slices.IndexFunc(order, func(o target) bool { return o.name == tg.name })+1) * time.Millisecond
			n := len(ran)
			return []time.Duration{base, base + time.Duration(n)*time.Microsecond}, 100, 0.002, nil
		}
		return turn, func() { cleaned++ }, nil
	}
	runs, err := inTurns(order, 3*time.Second, time.Second, prepare)
	require.NoError(t, err)
	assert.Equal(t, 3, prepared)
	assert.Equal(t, 3, cleaned, "every target's cleanup runs")
	assert.Equal(t, []string{
		"direct", "router", "nginx",
		"router", "nginx", "direct",
		"nginx", "direct", "router",
	}, ran, "each round starts one target further on")
	for i, tg := range order {
		m := runs[tg.name]
		assert.Equal(t, int64(6), m.N, "%s: two samples from each of three turns", tg.name)
		assert.InDelta(t, float64(i+1), m.P50, 0.01, "%s: p50 over its pooled turns", tg.name)
		assert.InDelta(t, 2.0, m.PerSecond, 0.001, "%s: six samples over a 3 s window", tg.name)
		if tg.pid == 0 {
			assert.Zero(t, m.ProxyCPUPerCall, "no proxy, no CPU")
			continue
		}
		assert.InDelta(t, 0.006, m.ProxyCPUs, 1e-9)
		assert.InDelta(t, 20.0, m.ProxyCPUPerCall, 1e-6, "%s: 6 ms of CPU over 300 calls", tg.name)
	}
}

func TestInTurnsReportsTheFailingTarget(t *testing.T) {
	t.Parallel()
	order := []target{{name: "direct"}, {name: "router", pid: 1}}
	prepare := func(tg target) (turnFunc, func(), error) {
		return func() ([]time.Duration, float64, float64, error) {
			if tg.name == "router" {
				return nil, 0, 0, errors.New("connection refused")
			}
			return []time.Duration{time.Millisecond}, 1, 0, nil
		}, func() {}, nil
	}
	_, err := inTurns(order, time.Second, time.Second, prepare)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "router: connection refused")
}

func TestReadSamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte("120\n45\n3000\n"), 0o644))
	v, err := readSamples(good)
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{120 * time.Microsecond, 45 * time.Microsecond, 3 * time.Millisecond}, v)

	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("120\nx\n"), 0o644))
	_, err = readSamples(bad)
	assert.ErrorContains(t, err, "bad")
}
