// Command loadgen drives a Socket.IO server (the Go bench server or the Node
// peer, see ../README.md) with one scenario per invocation and prints one
// JSON line of results on stdout. Progress and the S6 "ready" signal go to
// stderr.
//
// Usage:
//
//	loadgen connect   -url http://127.0.0.1:3000 -n 5000 -c 50          # S1
//	loadgen idle      -url ... -pid PID -steps 1000,5000,10000        # S2
//	loadgen rpc       -url ... -clients 100 -duration 5s [-rate 20000] # S3
//	loadgen fanout    -url ... -members 1000 -rates 10,20,50,100       # S4, S5 (-member-url)
//	loadgen reconnect -url ... -n 5000 [-backoff-min 0]                # S6
//	loadgen slow      -url ... -pid PID -members 100 -rate 1000        # S7
//
// Every run is bounded by -timeout: a watchdog prints an error result and
// exits if a scenario overruns, so a wedged server cannot hang a benchmark.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// common holds the flags every scenario shares.
type common struct {
	url       string
	namespace string
	label     string
	srcIPs    int
	timeout   time.Duration
	dialTO    time.Duration
	pid       int
	statsURL  string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "http://127.0.0.1:3000", "server base URL (loopback only)")
	fs.StringVar(&c.namespace, "ns", "/", "Socket.IO namespace")
	fs.StringVar(&c.label, "label", "", "free-form label copied into the result (e.g. go, node)")
	fs.IntVar(&c.srcIPs, "src-ips", 0, "number of source addresses 127.0.0.1..N to dial from (0: one per 20k connections)")
	fs.DurationVar(&c.timeout, "timeout", 120*time.Second, "hard limit for the whole run")
	fs.DurationVar(&c.dialTO, "dial-timeout", 10*time.Second, "per-connection handshake timeout")
	fs.IntVar(&c.pid, "pid", 0, "server pid for RSS/CPU from /proc (optional)")
	fs.StringVar(&c.statsURL, "stats-url", "", "server stats endpoint (default <url>/stats)")
}

// dialConfig builds the client configuration, sized for conns connections.
func (c *common) dialConfig(conns int) (dialConfig, error) {
	if err := checkLoopback(c.url); err != nil {
		return dialConfig{}, err
	}
	n := c.srcIPs
	if n <= 0 {
		// ~28k ephemeral ports per source/destination pair; stay well below.
		n = conns/20000 + 1
	}
	if n > 250 {
		return dialConfig{}, fmt.Errorf("-src-ips %d: at most 250", n)
	}
	var ips []net.IP
	for i := 1; i <= n; i++ {
		ips = append(ips, net.IPv4(127, 0, 0, byte(i)))
	}
	return dialConfig{base: c.url, namespace: c.namespace, timeout: c.dialTO, srcIPs: ips}, nil
}

func (c *common) stats() string {
	if c.statsURL != "" {
		return c.statsURL
	}
	return strings.TrimRight(c.url, "/") + "/stats"
}

// checkLoopback refuses any target outside 127.0.0.0/8 and ::1: this tool
// generates floods and must never point at another machine.
func checkLoopback(raw string) error {
	host := raw
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?"); i >= 0 {
		host = host[:i]
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback target %q", raw)
	}
	return nil
}

// result is the envelope of every JSON line; scenario fields are merged in.
type result map[string]any

func newResult(scenario string, c *common) result {
	return result{
		"scenario": scenario,
		"label":    c.label,
		"url":      c.url,
		"started":  time.Now().UTC().Format(time.RFC3339),
		"ok":       true,
	}
}

func emit(r result) {
	r["loadgen_cpu_s"] = round3(selfCPUSeconds())
	b, err := json.Marshal(r)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"ok":false,"error":%q}`, err.Error()))
	}
	os.Stdout.Write(append(b, '\n'))
}

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad list element %q", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return out, nil
}

// scenarioFunc runs one scenario and fills r; the context ends at -timeout.
type scenarioFunc func(ctx context.Context, c *common, r result) error

// scenarios maps subcommands to their flag registration and run function.
var scenarios = map[string]func(fs *flag.FlagSet) scenarioFunc{
	"connect":   connectCmd,
	"idle":      idleCmd,
	"rpc":       rpcCmd,
	"fanout":    fanoutCmd,
	"reconnect": reconnectCmd,
	"slow":      slowCmd,
	"publish":   publishCmd,
}

func main() {
	if len(os.Args) < 2 || scenarios[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: loadgen connect|idle|rpc|fanout|reconnect|slow|publish [flags]; -h for flags")
		os.Exit(2)
	}
	name := os.Args[1]
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	var c common
	c.register(fs)
	run := scenarios[name](fs)
	_ = fs.Parse(os.Args[2:])

	r := newResult(name, &c)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	// The watchdog fires a little after the context so a scenario gets the
	// chance to finish on ctx.Done; if it does not, the process still ends.
	watchdog := time.AfterFunc(c.timeout+10*time.Second, func() {
		emit(result{"scenario": name, "label": c.label, "ok": false, "error": "watchdog: run exceeded -timeout"})
		os.Exit(3)
	})
	t0 := time.Now()
	err := run(ctx, &c, r)
	watchdog.Stop()
	r["elapsed_s"] = round3(time.Since(t0).Seconds())
	if err != nil {
		r["ok"] = false
		r["error"] = err.Error()
	}
	emit(r)
	if err != nil {
		os.Exit(1)
	}
}
