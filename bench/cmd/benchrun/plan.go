package main

import (
	"fmt"
	"strconv"
	"time"
)

// runEnv is what a point's loadgen arguments may refer to.
type runEnv struct {
	url, url2 string // server A and (S5) server B
	pid, pid2 int
}

// metric maps one field of the loadgen's JSON to a key of latest.json.
type metric struct {
	key    string // key under "scenarios"
	path   string // dot path in the loadgen result
	unit   string
	better string // "higher" or "lower"; "" for informational values
	desc   string
}

// point is one measured configuration of one scenario. Each repetition
// starts fresh server processes, so runs do not inherit each other's heap.
type point struct {
	id         string // also prefixes the automatic <id>_server_cpu_s key
	scenario   string // S1..S7
	desc       string
	sub        string   // loadgen subcommand
	twoServers bool     // S5: two instances of the same kind sharing Redis
	redis      bool     // one instance with the Redis adapter (S5 publish rate)
	restart    bool     // S6: kill and restart the server once loadgen is ready
	goOnly     bool     // LuckyStack layer: no Node peer exists
	serverEnv  []string // extra environment of the server process
	// raw maps a LuckyStack-layer key to the raw Socket.IO key of the same
	// run it is compared with (Node has no LuckyStack layer).
	raw     map[string]string
	timeout time.Duration
	args    func(e runEnv) []string
	metrics []metric
}

// kname renders a connection count the way the result keys spell it.
func kname(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func itoa(n int) string { return strconv.Itoa(n) }

// rpcArgs are the loadgen rpc arguments of a closed loop of clients
// clients, followed by extra.
func (z sizes) rpcArgs(clients int, extra ...string) func(runEnv) []string {
	return func(e runEnv) []string {
		args := []string{"-url", e.url, "-pid", itoa(e.pid), "-clients", itoa(clients), "-duration", z.rpcDuration, "-warmup", z.rpcWarmup}
		return append(args, extra...)
	}
}

// sizes are the knobs that differ between the full matrix and smoke.
type sizes struct {
	connectN     int
	idleSteps    []int
	idleSettle   string
	idleAfter    string
	rpcClients   []int
	rpcDuration  string
	rpcWarmup    string
	room         int
	fanoutRates  string
	crossRates   string
	fanoutStep   string
	reconnectN   int
	noDelay      bool // also run S6 with 0 reconnect delay
	slowMembers  int
	slowRate     int
	slowDuration string
	slowResume   string
	publishN     int
	timeout      time.Duration
}

var fullSizes = sizes{
	connectN: 5000, idleSteps: []int{1000, 5000, 10000}, idleSettle: "2s", idleAfter: "3s",
	rpcClients: []int{10, 100}, rpcDuration: "5s", rpcWarmup: "1s",
	room: 1000, fanoutRates: "2,5,10,20,30,50,75,100,150,200,300", crossRates: "2,5,10,20,30,50,75,100,150,200",
	fanoutStep: "2s", reconnectN: 5000, noDelay: true,
	slowMembers: 100, slowRate: 1000, slowDuration: "10s", slowResume: "5s",
	publishN: 500_000,
	timeout:  150 * time.Second,
}

// smokeSizes keep the whole smoke pass under two minutes on 2 cores while
// still exercising every scenario's code path end to end.
var smokeSizes = sizes{
	connectN: 500, idleSteps: []int{1000}, idleSettle: "1s", idleAfter: "1s",
	rpcClients: []int{100}, rpcDuration: "2s", rpcWarmup: "500ms",
	room: 200, fanoutRates: "10,50", crossRates: "10,50", fanoutStep: "1500ms",
	reconnectN: 500, slowMembers: 20, slowRate: 500, slowDuration: "2s", slowResume: "2s",
	publishN: 50_000, timeout: 60 * time.Second,
}

// buildPlan returns the points to run, in order.
func buildPlan(z sizes) []point {
	var ps []point
	ps = append(ps, point{
		id: "S1", scenario: "S1", sub: "connect", timeout: z.timeout,
		desc: fmt.Sprintf("connect %d clients, 50 handshakes in flight", z.connectN),
		args: func(e runEnv) []string {
			return []string{"-url", e.url, "-pid", itoa(e.pid), "-n", itoa(z.connectN), "-c", "50"}
		},
		metrics: []metric{
			{"S1_connect_per_s", "conn_per_s", "conn/s", "higher", "full Socket.IO connects per second"},
			{"S1_connect_p99_ms", "connect_latency.p99_ms", "ms", "lower", "p99 connect time"},
		},
	})
	steps := ""
	idle := point{
		id: "S2", scenario: "S2", sub: "idle", timeout: z.timeout,
		desc: fmt.Sprintf("idle connections %v, VmRSS delta after forced GC", z.idleSteps),
	}
	for i, n := range z.idleSteps {
		if i > 0 {
			steps += ","
		}
		steps += itoa(n)
		idle.metrics = append(idle.metrics, metric{
			"S2_idle_rss_kb_per_conn_" + kname(n), "rss_kb_per_conn_" + itoa(n), "KB", "lower",
			fmt.Sprintf("server RSS growth per idle connection at %d", n)})
	}
	top := z.idleSteps[len(z.idleSteps)-1]
	idle.metrics = append(idle.metrics,
		metric{"S2_idle_heap_kb_per_conn_" + kname(top), "heap_kb_per_conn_" + itoa(top), "KB", "lower",
			"live heap per idle connection (Node heapUsed, Go heapInuse)"},
		metric{"S2_rss_retained_after_close", "after_retained_fraction", "fraction", "lower",
			"share of the RSS growth still held after all clients left"})
	idle.args = func(e runEnv) []string {
		return []string{"-url", e.url, "-pid", itoa(e.pid), "-steps", steps, "-settle", z.idleSettle, "-after", z.idleAfter}
	}
	ps = append(ps, idle)
	for _, k := range z.rpcClients {
		ps = append(ps, point{
			id: "S3_" + itoa(k), scenario: "S3", sub: "rpc", timeout: z.timeout,
			desc: fmt.Sprintf("emit+ack closed loop, %d clients, %s", k, z.rpcDuration),
			args: z.rpcArgs(k),
			metrics: []metric{
				{"S3_roundtrips_per_s_" + itoa(k), "acks_per_s", "acks/s", "higher", fmt.Sprintf("round trips per second, %d clients", k)},
				{"S3_p50_ms_" + itoa(k), "latency.p50_ms", "ms", "lower", "p50 round trip"},
				{"S3_p99_ms_" + itoa(k), "latency.p99_ms", "ms", "lower", "p99 round trip"},
				{"S3_acks_per_server_cpu_s_" + itoa(k), "acks_per_server_cpu_s", "acks/CPU-s", "higher", "round trips per server CPU-second"},
			},
		})
	}
	// The LuckyStack layer's apiRequest (the api module, an echo route) with
	// as many clients as the largest S3 point, next to that raw ceiling.
	k := z.rpcClients[len(z.rpcClients)-1]
	ks := itoa(k)
	// The raw ceiling of the apiRequest wire shape: the same request bytes
	// under another event name, answered by a bare Socket.IO handler with
	// apiResponse-<i> (an event, where S3 answers with an ack).
	ps = append(ps, point{
		id: "S3_shape_" + ks, scenario: "S3", sub: "rpc", goOnly: true, timeout: z.timeout,
		desc: fmt.Sprintf("apiRequest-shaped emit answered by the event apiResponse-<i> from a bare Socket.IO handler, closed loop, %d clients, %s; Go only", k, z.rpcDuration),
		args: z.rpcArgs(k, "-call", "shape"),
		metrics: []metric{
			{"S3_shape_roundtrips_per_s_" + ks, "acks_per_s", "req/s", "higher", fmt.Sprintf("apiRequest-shaped round trips per second, raw handler, %d clients", k)},
			{"S3_shape_p99_ms_" + ks, "latency.p99_ms", "ms", "lower", "p99 of those round trips"},
			{"S3_shape_per_server_cpu_s_" + ks, "acks_per_server_cpu_s", "req/CPU-s", "higher", "those round trips per server CPU-second"},
		},
	})
	ps = append(ps, point{
		id: "LS_api", scenario: "LS", sub: "rpc", goOnly: true, timeout: z.timeout,
		serverEnv: []string{"BENCH_LAYER=luckystack"},
		desc:      fmt.Sprintf("LuckyStack apiRequest to api/bench/echo/v1 (api module) answered by apiResponse-<i>, closed loop, %d clients, %s; Go only", k, z.rpcDuration),
		args:      z.rpcArgs(k, "-call", "api"),
		metrics: []metric{
			{"LS_api_roundtrips_per_s_" + ks, "acks_per_s", "req/s", "higher", fmt.Sprintf("apiRequest round trips per second, %d clients", k)},
			{"LS_api_p50_ms_" + ks, "latency.p50_ms", "ms", "lower", "p50 apiRequest round trip"},
			{"LS_api_p99_ms_" + ks, "latency.p99_ms", "ms", "lower", "p99 apiRequest round trip"},
			{"LS_api_per_server_cpu_s_" + ks, "acks_per_server_cpu_s", "req/CPU-s", "higher", "apiRequest round trips per server CPU-second"},
			{"LS_api_error_responses_" + ks, "error_responses", "responses", "lower", "apiResponse error envelopes (should be 0)"},
			{"LS_api_vs_shape_roundtrips_per_s_" + ks, "acks_per_s", "req/s", "higher", "apiRequest round trips per second, against the raw handler of the same wire shape"},
		},
		raw: map[string]string{
			"LS_api_roundtrips_per_s_" + ks:          "S3_roundtrips_per_s_" + ks,
			"LS_api_p50_ms_" + ks:                    "S3_p50_ms_" + ks,
			"LS_api_p99_ms_" + ks:                    "S3_p99_ms_" + ks,
			"LS_api_per_server_cpu_s_" + ks:          "S3_acks_per_server_cpu_s_" + ks,
			"LS_api_server_cpu_s":                    "S3_" + ks + "_server_cpu_s",
			"LS_api_vs_shape_roundtrips_per_s_" + ks: "S3_shape_roundtrips_per_s_" + ks,
		},
	})
	ps = append(ps, point{
		id: "S4", scenario: "S4", sub: "fanout", timeout: z.timeout,
		desc: fmt.Sprintf("room of %d, rates %s msg/s (until saturated), %s steps, 64 B", z.room, z.fanoutRates, z.fanoutStep),
		args: func(e runEnv) []string {
			return []string{"-url", e.url, "-pid", itoa(e.pid), "-members", itoa(z.room), "-rates", z.fanoutRates, "-step", z.fanoutStep}
		},
		metrics: []metric{
			{"S4_fanout_deliveries_per_s", "deliveries_per_s", "deliveries/s", "higher", "highest delivery rate with p99 < 50 ms and no loss"},
			{"S4_fanout_p99_ms", "best_p99_ms", "ms", "lower", "p99 at that rate"},
			{"S4_fanout_max_deliveries_per_s", "max_deliveries_per_s", "deliveries/s", "higher", "highest delivery rate at any latency (ceiling)"},
			{"S4_fanout_lost", "lost_total", "messages", "lower", "deliveries missing over all steps"},
		},
	})
	// The LuckyStack layer's sync fan-out: the trigger sends one sync
	// request per message (route without a client handler: one room
	// broadcast), next to the raw S4 broadcast of the same run.
	ps = append(ps, point{
		id: "LS_sync", scenario: "LS", sub: "fanout", goOnly: true, timeout: z.timeout,
		serverEnv: []string{"BENCH_LAYER=luckystack"},
		desc: fmt.Sprintf("LuckyStack sync requests to sync/bench/fanout/v1 (sync module) fanned out to a room of %d, rates %s msg/s, %s steps, 64 B; Go only",
			z.room, z.fanoutRates, z.fanoutStep),
		args: func(e runEnv) []string {
			return []string{"-url", e.url, "-pid", itoa(e.pid), "-members", itoa(z.room), "-rates", z.fanoutRates, "-step", z.fanoutStep, "-call", "sync"}
		},
		metrics: []metric{
			{"LS_sync_fanout_deliveries_per_s", "deliveries_per_s", "deliveries/s", "higher", "sync fan-out: highest delivery rate with p99 < 50 ms and no loss"},
			{"LS_sync_fanout_p99_ms", "best_p99_ms", "ms", "lower", "p99 at that rate (from the sender's stamp)"},
			{"LS_sync_fanout_max_deliveries_per_s", "max_deliveries_per_s", "deliveries/s", "higher", "sync fan-out: highest delivery rate at any latency (ceiling)"},
			{"LS_sync_fanout_lost", "lost_total", "messages", "lower", "deliveries missing over all steps"},
			{"LS_sync_errors", "sync_errors", "requests", "lower", "sync-<i> error acknowledgements (should be 0)"},
		},
		raw: map[string]string{
			"LS_sync_fanout_deliveries_per_s":     "S4_fanout_deliveries_per_s",
			"LS_sync_fanout_p99_ms":               "S4_fanout_p99_ms",
			"LS_sync_fanout_max_deliveries_per_s": "S4_fanout_max_deliveries_per_s",
			"LS_sync_server_cpu_s":                "S4_server_cpu_s",
		},
	})
	ps = append(ps, point{
		id: "S5", scenario: "S5", sub: "fanout", twoServers: true, timeout: z.timeout,
		desc: fmt.Sprintf("trigger on A, room of %d on B, via Redis, rates %s", z.room, z.crossRates),
		args: func(e runEnv) []string {
			return []string{"-url", e.url, "-member-url", e.url2, "-pid", itoa(e.pid), "-pid2", itoa(e.pid2),
				"-members", itoa(z.room), "-rates", z.crossRates, "-step", z.fanoutStep}
		},
		metrics: []metric{
			{"S5_cross_instance_deliveries_per_s", "deliveries_per_s", "deliveries/s", "higher", "highest cross-instance rate with p99 < 50 ms and no loss"},
			{"S5_cross_instance_p99_ms", "best_p99_ms", "ms", "lower", "p99 at that rate"},
			{"S5_cross_instance_max_deliveries_per_s", "max_deliveries_per_s", "deliveries/s", "higher", "highest cross-instance rate at any latency (ceiling)"},
			{"S5_cross_instance_lost", "lost_total", "messages", "lower", "deliveries missing over all steps"},
		},
	})
	// Issue 5's publish rate: one instance, its adapter pipelining PUBLISHes
	// into a redis-server of the point's own (pinned: on core 1, beside the
	// idle loadgen).
	ps = append(ps, point{
		id: "S5_pub", scenario: "S5", sub: "publish", redis: true, timeout: z.timeout,
		desc: fmt.Sprintf("one instance publishes %d room broadcasts (64 B) to a room nobody holds, through its Redis adapter; best of 3 rounds", z.publishN),
		args: func(e runEnv) []string {
			return []string{"-url", e.url, "-pid", itoa(e.pid), "-n", itoa(z.publishN), "-reps", "3"}
		},
		metrics: []metric{
			{"S5_publishes_per_s", "publishes_per_s", "publishes/s", "higher", "room broadcasts one instance publishes per second (until Redis accepted them)"},
			{"S5_publish_cpu_ns_per_msg", "publish_server_cpu_ns_per_msg", "ns", "lower", "server CPU per published broadcast"},
		},
	})
	reconnect := func(id, delay string, keySuffix string) point {
		return point{
			id: id, scenario: "S6", sub: "reconnect", restart: true, timeout: z.timeout,
			desc: fmt.Sprintf("%d clients, server killed and restarted, reconnect delay %s", z.reconnectN, delay),
			args: func(e runEnv) []string {
				a := []string{"-url", e.url, "-n", itoa(z.reconnectN)}
				if delay == "0" {
					a = append(a, "-backoff-min", "0")
				}
				return a
			},
			metrics: []metric{
				{"S6_reconnect_all_s" + keySuffix, "reconnect_all_s", "s", "lower", "first disconnect to last client back"},
				{"S6_reconnect_99pct_s" + keySuffix, "reconnect_99pct_s", "s", "lower", "first disconnect to 99% back"},
			},
		}
	}
	ps = append(ps, reconnect("S6", "1s..5s jitter 0.5", ""))
	if z.noDelay {
		ps = append(ps, reconnect("S6_nodelay", "0", "_nodelay"))
	}
	ps = append(ps, point{
		id: "S7", scenario: "S7", sub: "slow", timeout: z.timeout,
		desc: fmt.Sprintf("room of %d + 1 client not reading, %d msg/s x 1 KB for %s", z.slowMembers, z.slowRate, z.slowDuration),
		args: func(e runEnv) []string {
			return []string{"-url", e.url, "-pid", itoa(e.pid), "-members", itoa(z.slowMembers), "-rate", itoa(z.slowRate),
				"-duration", z.slowDuration, "-resume-wait", z.slowResume}
		},
		metrics: []metric{
			{"S7_others_p99_ms", "others_p99_ms", "ms", "lower", "p99 of the members that keep reading"},
			{"S7_rss_growth_kb", "rss_growth_kb", "KB", "lower", "server RSS growth during the run"},
			{"S7_slow_disconnected", "slow_closed", "0/1", "", "1 if the server dropped the slow client"},
		},
	})
	return ps
}
