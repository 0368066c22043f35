package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"
)

// publishCmd is S5's publish rate: one client asks the server to publish n
// room broadcasts to a room no socket of any instance holds, so each one
// costs exactly an encode and a Redis PUBLISH (plus the server dropping its
// own echo by room). The server acks once Redis accepted all of them and
// reports how long that took, so the rate is measured where the work is.
func publishCmd(fs *flag.FlagSet) scenarioFunc {
	n := fs.Int("n", 500_000, "broadcasts to publish")
	size := fs.Int("size", 64, "payload pad in bytes")
	reps := fs.Int("reps", 3, "publishing rounds (the best one counts: the rate is a ceiling)")
	return func(ctx context.Context, c *common, r result) error {
		cfg, err := c.dialConfig(1)
		if err != nil {
			return err
		}
		cl, err := dial(ctx, cfg)
		if err != nil {
			return err
		}
		defer cl.close()
		go func() { _ = cl.run() }()
		r["n"], r["size"], r["reps"] = *n, *size, *reps
		cpu0, _ := readCPUSeconds(c.pid)
		best, rates := 0.0, make([]float64, 0, *reps)
		for range *reps {
			payload, err := cl.call("publish", fmt.Sprintf(`{"n":%d,"size":%d}`, *n, *size), time.Until(deadline(ctx)))
			if err != nil {
				return err
			}
			var got []struct {
				Sent int     `json:"sent"`
				Ms   float64 `json:"ms"`
			}
			if err := json.Unmarshal(payload, &got); err != nil || len(got) == 0 || got[0].Ms <= 0 {
				return fmt.Errorf("publish ack %q: %v", payload, err)
			}
			if got[0].Sent != *n {
				return fmt.Errorf("server published %d of %d", got[0].Sent, *n)
			}
			rate := float64(got[0].Sent) / (got[0].Ms / 1000)
			rates = append(rates, round3(rate))
			best = max(best, rate)
		}
		if cpu1, err := readCPUSeconds(c.pid); err == nil {
			r["publish_server_cpu_ns_per_msg"] = round3((cpu1 - cpu0) * 1e9 / float64(*n**reps))
		}
		r["publishes_per_s"] = round3(best)
		r["rates"] = rates
		return nil
	}
}

// deadline is ctx's deadline, or a minute from now.
func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Minute)
}
