package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatsAndLookup(t *testing.T) {
	med, lo, hi := stats([]float64{3, 1, 2, 10})
	if *med != 2.5 || *lo != 1 || *hi != 10 {
		t.Fatalf("stats = %v %v %v", *med, *lo, *hi)
	}
	if m, _, _ := stats(nil); m != nil {
		t.Fatal("no samples must give nil")
	}
	res := map[string]any{"latency": map[string]any{"p99_ms": 1.5}, "slow_closed": true}
	if v, ok := lookup(res, "latency.p99_ms"); !ok || v != 1.5 {
		t.Fatalf("lookup = %v %v", v, ok)
	}
	if v, ok := lookup(res, "slow_closed"); !ok || v != 1 {
		t.Fatalf("bool lookup = %v %v", v, ok)
	}
	if _, ok := lookup(res, "latency.nope"); ok {
		t.Fatal("missing path found")
	}
	if kname(10000) != "10k" || kname(500) != "500" {
		t.Fatal("kname")
	}
	if shellQuote("a b") != "'a b'" || shellQuote("-mode") != "-mode" {
		t.Fatal("shellQuote")
	}
}

// TestReportAndDocs aggregates fake runs and renders the markdown, checking
// that medians and ratios land where the docs table reads them.
func TestReportAndDocs(t *testing.T) {
	r := &runner{mode: "full", variant: "pinned", pinned: true, reps: 3,
		goSpec: serverSpec{kind: "go", argv: []string{"goserver"}}, nodeSpec: serverSpec{kind: "node", argv: []string{"node", "server.mjs"}}}
	plan := filterPlan(buildPlan(fullSizes), "S1")
	for i, v := range []float64{100, 300, 200} {
		r.records = append(r.records,
			runRecord{Point: "S1", Scenario: "S1", Server: "go", Rep: i + 1, ServerCPU: 1, Result: map[string]any{"conn_per_s": v * 2}},
			runRecord{Point: "S1", Scenario: "S1", Server: "node", Rep: i + 1, ServerCPU: 2, Result: map[string]any{"conn_per_s": v}})
	}
	r.records = append(r.records, runRecord{Point: "S1", Server: "go", Rep: 4, Error: "boom", Result: map[string]any{"conn_per_s": 1e9}})
	rep := r.report(time.Now(), plan)
	v := rep.Scenarios["S1_connect_per_s"]
	if *v.Go != 400 || *v.Node != 200 || *v.Ratio != 2 || v.GoRuns != 3 {
		t.Fatalf("S1 value = %+v", v)
	}
	if c := rep.Scenarios["S1_server_cpu_s"]; *c.Ratio != 0.5 {
		t.Fatalf("cpu ratio = %v", *c.Ratio)
	}
	dir := t.TempDir()
	res := filepath.Join(dir, "latest.json")
	if err := writeJSON(res, rep); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "B.md")
	if err := renderDocs(dir, md, []string{res}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	for _, want := range []string{"| `S1_connect_per_s` |", "400 (200–600)", "| 2 | higher |", "S1 go #4: boom"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("docs lack %q:\n%s", want, b)
		}
	}
}

// TestLuckyStackRows: a Go-only LuckyStack point is compared with the raw
// key of the same run and rendered in its own table, without a Node column.
func TestLuckyStackRows(t *testing.T) {
	r := &runner{mode: "full", variant: "pinned", pinned: true, reps: 1,
		goSpec: serverSpec{kind: "go", argv: []string{"goserver"}}, nodeSpec: serverSpec{kind: "node", argv: []string{"node", "server.mjs"}}}
	plan := filterPlan(buildPlan(fullSizes), "S3_100,LS_api,S4,LS_sync")
	if len(plan) != 4 || !plan[1].goOnly || plan[1].serverEnv[0] != "BENCH_LAYER=luckystack" || !plan[3].goOnly || plan[3].id != "LS_sync" {
		t.Fatalf("plan = %+v", plan)
	}
	r.records = append(r.records,
		runRecord{Point: "S3_100", Server: "go", Rep: 1, Result: map[string]any{"acks_per_s": 40000.0}},
		runRecord{Point: "S3_100", Server: "node", Rep: 1, Result: map[string]any{"acks_per_s": 20000.0}},
		runRecord{Point: "LS_api", Server: "go", Rep: 1, Result: map[string]any{"acks_per_s": 30000.0, "error_responses": 0.0}},
		runRecord{Point: "S4", Server: "go", Rep: 1, ServerCPU: 4, Result: map[string]any{"deliveries_per_s": 100000.0}},
		runRecord{Point: "LS_sync", Server: "go", Rep: 1, ServerCPU: 5, Result: map[string]any{"deliveries_per_s": 80000.0}})
	rep := r.report(time.Now(), plan)
	v := rep.Scenarios["LS_api_roundtrips_per_s_100"]
	if v == nil || *v.Go != 30000 || v.Node != nil || v.Ratio != nil || v.RawKey != "S3_roundtrips_per_s_100" || *v.OfRaw != 0.75 {
		t.Fatalf("LS value = %+v", v)
	}
	if v := rep.Scenarios["LS_sync_fanout_deliveries_per_s"]; *v.OfRaw != 0.8 {
		t.Fatalf("LS sync value = %+v", v)
	}
	if v := rep.Scenarios["LS_sync_server_cpu_s"]; *v.OfRaw != 1.25 {
		t.Fatalf("LS sync cpu = %+v", v)
	}
	dir := t.TempDir()
	res := filepath.Join(dir, "latest.json")
	if err := writeJSON(res, rep); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(dir, "B.md")
	if err := renderDocs(dir, md, []string{res}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	for _, want := range []string{"LuckyStack layer (Go only", "| `LS_sync_fanout_deliveries_per_s` |", "| `LS_api_roundtrips_per_s_100` | apiRequest round trips per second, 100 clients | req/s | 30000 | `S3_roundtrips_per_s_100` | 40000 | 0.750 | higher |"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("docs lack %q:\n%s", want, b)
		}
	}
}
