package router

import "runtime"

// loopCount is how many event loops carry the router's tunnels
// (Config.TunnelLoops), at most GOMAXPROCS. A busy loop keeps a P of the
// runtime while it waits, so the default leaves most Ps to the rest of
// the program and uses none with GOMAXPROCS=1, where waiting would take
// the only P (evLoop says why).
func (c Config) loopCount() int {
	procs := runtime.GOMAXPROCS(0)
	switch {
	case c.TunnelLoops < 0:
		return 0
	case c.TunnelLoops > 0:
		return min(c.TunnelLoops, procs)
	}
	return loopsFor(procs)
}

// loopsFor is the default number of loops for procs Ps.
func loopsFor(procs int) int {
	if procs < 2 {
		return 0
	}
	return (procs + 2) / 4
}

// loopFor returns the loop for a new tunnel, round robin, starting the
// loops on first use; nil when tunnels run as goroutine pairs (no loops
// configured, not Linux, or the router closed).
func (rt *Router) loopFor() *evLoop {
	n := rt.cfg.loopCount()
	if n == 0 {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed || rt.loopsFailed {
		return nil
	}
	if rt.loops == nil {
		for range n {
			l, err := newEvLoop(rt.cfg.IdleTimeout, rt.cfg.MaxBytesPerConnection, rt.cfg.Logger)
			if err != nil {
				rt.cfg.Logger.Warn("router: upgraded connections run as goroutine pairs", "err", err)
				break
			}
			rt.loops = append(rt.loops, l)
			rt.loopWG.Add(1)
			go func() {
				defer rt.loopWG.Done()
				l.run()
			}()
		}
		if len(rt.loops) == 0 {
			rt.loopsFailed = true
			return nil
		}
	}
	l := rt.loops[rt.nextLoop%len(rt.loops)]
	rt.nextLoop++
	return l
}

// stopLoops asks every loop to end its tunnels and return; the caller
// holds rt.mu.
func (rt *Router) stopLoops() {
	for _, l := range rt.loops {
		l.shutdown()
	}
}
