//go:build linux

package router

import (
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// evLoop carries upgraded connections on one goroutine that waits in
// epoll_wait itself, level-triggered, as nginx's worker does. Per message
// that is epoll_wait, read, write. A tunnel on Go's poller also reads
// again until EAGAIN (the poller is edge-triggered and does not report a
// FIN that came with the data), then parks, and the scheduler polls once
// more before it sleeps: at 2,000 websocket messages a second the router
// added 1.13× nginx's latency that way (issue 9). A level-triggered set
// needs no draining read, because unread bytes or a FIN are reported
// again on the next wait.
//
// The goroutine blocks in a system call holding its P. The runtime takes
// the P back after one tick of its monitor (from 20 µs) when goroutines
// wait for it, and after 10 ms otherwise, so a busy loop keeps it and an
// idle one does not. With GOMAXPROCS=1 other goroutines always wait for
// the only P, and the monitor retakes it at nearly every message: at
// 2,000 round trips a second the router then spent 362 ms of CPU per 2 s
// against 236 without a loop (perf, 26 Nov). So by default the router
// uses loops only when GOMAXPROCS >= 2 (Config.TunnelLoops).
//
// The loop owns the descriptors it is given (duplicates of the tunnel's
// sockets, which are then closed, so Go's poller no longer watches them).
// Everything else reaches it through the command queue and the eventfd.
type evLoop struct {
	epfd, evfd int
	idle       time.Duration // <= 0: off
	maxBytes   int64
	epoch      time.Time // of clock
	log        *slog.Logger

	mu       sync.Mutex // Protects cmds, stop and released.
	cmds     []loopCmd
	stop     bool
	released bool // the eventfd is closed

	// Loop goroutine only.
	legs    map[int32]*leg
	tunnels map[*tunnel]struct{}
	buf     []byte
	events  []syscall.EpollEvent
}

// leg is one socket of a tunnel in the loop: what it reads goes to peer.
type leg struct {
	fd     int
	t      *tunnel
	peer   *leg
	out    []byte // bytes for this socket its buffer did not take yet
	eof    bool   // this socket sent its FIN
	shut   bool   // its write side was shut (the peer's FIN passed on)
	events uint32 // registered interest; 0: not in the set
}

// yieldEvery is how often the loop passes through the scheduler, well
// inside the monitor's 10 ms.
const yieldEvery = int64(5 * time.Millisecond)

// loopReadSize is the one read buffer of a loop. A read returns what one
// readiness has; more is reported again, so a larger buffer only saves
// system calls for bulk transfers.
const loopReadSize = 64 << 10

func newEvLoop(idle time.Duration, maxBytes int64, log *slog.Logger) (*evLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	r, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		_ = syscall.Close(epfd)
		return nil, os.NewSyscallError("eventfd2", errno)
	}
	evfd := int(r)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(evfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		_ = syscall.Close(evfd)
		_ = syscall.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &evLoop{
		epfd: epfd, evfd: evfd, idle: idle, maxBytes: maxBytes, epoch: time.Now(), log: log,
		legs:    make(map[int32]*leg),
		tunnels: make(map[*tunnel]struct{}),
		buf:     make([]byte, loopReadSize),
		events:  make([]syscall.EpollEvent, 128),
	}, nil
}

// send queues a command and wakes the loop; false once it stopped.
func (l *evLoop) send(c loopCmd) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stop {
		return false
	}
	l.cmds = append(l.cmds, c)
	l.wakeLocked()
	return true
}

// shutdown asks the loop to close its tunnels and return. It may be
// called again after the loop returned.
func (l *evLoop) shutdown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stop = true
	l.wakeLocked()
}

// wakeLocked writes to the eventfd, with l.mu held: release closes it
// under l.mu, and a write after that would go to whatever file the kernel
// has since given its number.
func (l *evLoop) wakeLocked() {
	if l.released {
		return
	}
	one := uint64(1)
	b := (*[8]byte)(unsafe.Pointer(&one))[:]
	// EAGAIN means the counter is already non-zero: the loop will wake.
	_, _ = rawWrite(l.evfd, b)
}

// run is the loop goroutine. It returns after shutdown, having ended its
// tunnels and closed its descriptors.
func (l *evLoop) run() {
	defer l.release()
	sweepEvery := int64(l.sweepInterval())
	nextSweep := l.clock() + sweepEvery
	var lastYield int64
	for {
		timeout := -1
		if sweepEvery > 0 {
			timeout = int(max(nextSweep-l.clock(), 0)/int64(time.Millisecond)) + 1
		}
		n, err := syscall.EpollWait(l.epfd, l.events, timeout)
		if err != nil && err != syscall.EINTR {
			// Only EBADF/EINVAL/EFAULT are left, all bugs: end the tunnels
			// rather than spin; later tunnels run as goroutine pairs.
			l.log.Error("router: tunnel loop failed", "err", os.NewSyscallError("epoll_wait", err))
			return
		}
		now := l.clock()
		if now-lastYield > yieldEvery {
			// The runtime's monitor takes a goroutine that has not been
			// through the scheduler for 10 ms for a runaway: it signals
			// it and takes its P, and then polls every 20 µs for a while.
			// Without this yield: 2,400 monitor wake-ups a second at
			// 2,000 websocket round trips a second (perf, 26 Nov).
			runtime.Gosched()
			lastYield = now
		}
		woken := false
		for i := range n {
			ev := &l.events[i]
			if int(ev.Fd) == l.evfd {
				woken = true
				continue
			}
			// A leg ended earlier in this batch is gone from the map, and
			// a socket that got its number since is not in it before the
			// commands below adopt it.
			if lg := l.legs[ev.Fd]; lg != nil {
				l.handle(lg, ev.Events, now)
			}
		}
		if woken && !l.commands() {
			return
		}
		if sweepEvery > 0 && now >= nextSweep {
			l.sweep(now)
			nextSweep = now + sweepEvery
		}
	}
}

// clock is the loop's time in nanoseconds: monotonic, so a step of the
// wall clock neither ends tunnels early nor keeps idle ones.
func (l *evLoop) clock() int64 { return int64(time.Since(l.epoch)) }

// sweepInterval is how often idle tunnels are looked for: an eighth of
// the timeout, at least 5 ms and at most 1 s, so a tunnel ends at most
// that much (plus a millisecond of rounding) after its timeout.
func (l *evLoop) sweepInterval() time.Duration {
	if l.idle <= 0 {
		return 0
	}
	return min(max(l.idle/8, 5*time.Millisecond), time.Second)
}

// commands takes the queued commands; false when the loop must stop.
func (l *evLoop) commands() bool {
	var cnt [8]byte
	_, _ = rawRead(l.evfd, cnt[:])
	cmds, stop := l.take(false)
	l.apply(cmds)
	return !stop
}

// take empties the queue, first marking the loop stopped when stop is
// set; it reports whether the loop is stopped.
func (l *evLoop) take(stop bool) ([]loopCmd, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stop = l.stop || stop
	cmds := l.cmds
	l.cmds = nil
	return cmds, l.stop
}

func (l *evLoop) apply(cmds []loopCmd) {
	for _, c := range cmds {
		if c.add {
			l.adopt(c.t)
		} else if _, ok := l.tunnels[c.t]; ok {
			l.end(c.t)
		}
	}
}

func (l *evLoop) adopt(t *tunnel) {
	l.tunnels[t] = struct{}{}
	t.lastNs = l.clock()
	for i := range t.legs {
		lg := &t.legs[i]
		l.legs[int32(lg.fd)] = lg
	}
	for i := range t.legs {
		if !l.interest(&t.legs[i]) {
			l.end(t)
			return
		}
	}
}

// handle acts on one readiness report of lg. An error (a reset) is left
// to the write or read it fails: a reset does not empty the receive
// queue, and the bytes that came before it still go on, as a goroutine
// pair passes them. A leg with neither a backlog nor reading is not in the
// set, so an error cannot be reported to nothing over and over.
func (l *evLoop) handle(lg *leg, events uint32, now int64) {
	if events&(syscall.EPOLLOUT|syscall.EPOLLERR) != 0 && len(lg.out) > 0 && !l.flush(lg) {
		return
	}
	if events&(syscall.EPOLLIN|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 && lg.reading() {
		l.read(lg, now)
	}
}

// reading: lg's bytes are wanted, its FIN not yet seen and its peer not
// backed up.
func (lg *leg) reading() bool { return !lg.eof && len(lg.peer.out) == 0 }

// read reads once from lg and passes the bytes to its peer.
func (l *evLoop) read(lg *leg, now int64) {
	t := lg.t
	n, errno := rawRead(lg.fd, l.buf)
	switch {
	case errno == syscall.EAGAIN || errno == syscall.EINTR:
		return
	case errno != 0:
		l.end(t)
		return
	case n == 0:
		// lg is read only while its peer has no backlog, so the FIN can
		// go on at once.
		lg.eof = true
		if !l.shutWrite(lg.peer) {
			return
		}
		if !l.interest(lg) {
			return
		}
		l.endIfDone(t)
		return
	}
	if l.idle > 0 {
		t.lastNs = now
	}
	if l.maxBytes > 0 && t.bytes.Add(int64(n)) > l.maxBytes {
		l.end(t)
		return
	}
	p := l.buf[:n]
	w, errno := writeAll(lg.peer.fd, p)
	if errno != 0 && errno != syscall.EAGAIN {
		l.end(t)
		return
	}
	if w < n {
		// The peer's buffer is full: keep the rest and stop reading lg
		// until it is written.
		lg.peer.out = append([]byte(nil), p[w:]...)
		if !l.interest(lg.peer) || !l.interest(lg) {
			return
		}
	}
}

// flush writes lg's backlog; false when the tunnel ended.
func (l *evLoop) flush(lg *leg) bool {
	w, errno := writeAll(lg.fd, lg.out)
	if errno != 0 && errno != syscall.EAGAIN {
		l.end(lg.t)
		return false
	}
	lg.out = lg.out[w:]
	if len(lg.out) > 0 {
		return true
	}
	lg.out = nil
	if lg.peer.eof && !l.shutWrite(lg) {
		return false
	}
	if !l.interest(lg) || !l.interest(lg.peer) {
		return false
	}
	return !l.endIfDone(lg.t)
}

// writeAll writes p to fd until done or the socket is full.
func writeAll(fd int, p []byte) (int, syscall.Errno) {
	w := 0
	for w < len(p) {
		n, errno := rawWrite(fd, p[w:])
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return w, errno
		}
		w += n
	}
	return w, 0
}

// shutWrite passes a FIN on to lg; false when the tunnel ended instead.
func (l *evLoop) shutWrite(lg *leg) bool {
	if lg.shut {
		return true
	}
	lg.shut = true
	if syscall.Shutdown(lg.fd, syscall.SHUT_WR) != nil {
		l.end(lg.t)
		return false
	}
	return true
}

// endIfDone ends t once both sides sent their FIN and every byte was
// passed on, as the goroutine tunnel ends when both pipes returned.
func (l *evLoop) endIfDone(t *tunnel) bool {
	a, b := &t.legs[0], &t.legs[1]
	if a.eof && b.eof && len(a.out) == 0 && len(b.out) == 0 {
		l.end(t)
		return true
	}
	return false
}

// interest registers what lg waits for: readable while it is read,
// writable while it has a backlog. A leg waiting for nothing leaves the
// set, so a hang-up (always reported) cannot spin the loop while its
// bytes are held back. False when the tunnel ended.
func (l *evLoop) interest(lg *leg) bool {
	var want uint32
	if lg.reading() {
		want |= syscall.EPOLLIN
	}
	if len(lg.out) > 0 {
		want |= syscall.EPOLLOUT
	}
	if want == lg.events {
		return true
	}
	var err error
	switch {
	case want == 0:
		err = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, lg.fd, nil)
	case lg.events == 0:
		err = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, lg.fd, &syscall.EpollEvent{Events: want, Fd: int32(lg.fd)})
	default:
		err = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, lg.fd, &syscall.EpollEvent{Events: want, Fd: int32(lg.fd)})
	}
	if err != nil {
		l.end(lg.t)
		return false
	}
	lg.events = want
	return true
}

// sweep ends the tunnels idle for the timeout.
func (l *evLoop) sweep(now int64) {
	limit := now - int64(l.idle)
	for t := range l.tunnels {
		if t.lastNs <= limit {
			l.end(t)
		}
	}
}

// end closes t's sockets and releases its waiter. Each socket leaves the
// set first: closing a descriptor removes its registration only once no
// other descriptor shares the socket, and net.Conn.Close of the original
// may still be under way, which would leave a registration that reports
// events under a number the kernel hands out again.
func (l *evLoop) end(t *tunnel) {
	if _, ok := l.tunnels[t]; !ok {
		return
	}
	delete(l.tunnels, t)
	for i := range t.legs {
		lg := &t.legs[i]
		delete(l.legs, int32(lg.fd))
		if lg.events != 0 {
			_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, lg.fd, nil)
			lg.events = 0
		}
		_ = syscall.Close(lg.fd)
		lg.out = nil
	}
	close(t.done)
}

// release ends what is left when the loop returns and refuses new
// tunnels; a tunnel queued but not taken is closed here too.
func (l *evLoop) release() {
	cmds, _ := l.take(true)
	l.apply(cmds)
	for t := range l.tunnels {
		l.end(t)
	}
	l.mu.Lock()
	l.released = true
	_ = syscall.Close(l.evfd)
	l.mu.Unlock()
	_ = syscall.Close(l.epfd)
}

// ownSocket reports whether c is one of the types the router itself makes
// over a TCP socket. Only those go to a loop, which closes c when it takes
// the socket: a caller's own connection type (a listener wrapper counting
// or limiting connections in Close) must see Close when the tunnel ends,
// so it stays a goroutine pair, as does TLS.
func ownSocket(c net.Conn) bool {
	switch v := c.(type) {
	case *net.TCPConn, *sockConn:
		return true
	case *handoffConn:
		return ownSocket(v.Conn)
	}
	return false
}

// dupSocket returns a descriptor of its own for c's socket, which stays
// open when c is closed; false when c may not go to a loop (ownSocket), has
// no socket to give yet (a handoffConn with bytes to replay refuses its
// SyscallConn) or lingers on close: the loop closes sockets itself, and a
// close that waits for unsent bytes would stall every tunnel on it.
func dupSocket(c net.Conn) (int, bool) {
	if !ownSocket(c) {
		return -1, false
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, false
	}
	nfd, errno := -1, syscall.Errno(0)
	cerr := rc.Control(func(fd uintptr) {
		var lg syscall.Linger
		size := uint32(unsafe.Sizeof(lg))
		_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, syscall.SO_LINGER,
			uintptr(unsafe.Pointer(&lg)), uintptr(unsafe.Pointer(&size)), 0)
		if e != 0 || (lg.Onoff != 0 && lg.Linger > 0) {
			errno = syscall.EINVAL
			return
		}
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		nfd, errno = int(r), e
	})
	if cerr != nil || errno != 0 {
		return -1, false
	}
	return nfd, true
}

// enterLoop hands t's sockets to lp; false when they cannot go there
// (no socket underneath, t already closing, lp stopped) and t must run
// as a goroutine pair.
func (t *tunnel) enterLoop(lp *evLoop) bool {
	cfd, ok := dupSocket(t.client)
	if !ok {
		return false
	}
	bfd, ok := dupSocket(t.backend)
	if !ok {
		_ = syscall.Close(cfd)
		return false
	}
	t.mu.Lock()
	t.legs[0] = leg{fd: cfd, t: t}
	t.legs[1] = leg{fd: bfd, t: t}
	t.legs[0].peer, t.legs[1].peer = &t.legs[1], &t.legs[0]
	t.done = make(chan struct{})
	if t.closing || !lp.send(loopCmd{t: t, add: true}) {
		t.mu.Unlock()
		_ = syscall.Close(cfd)
		_ = syscall.Close(bfd)
		return false
	}
	t.lp = lp
	t.mu.Unlock()
	// The loop has its own descriptors; closing these takes the sockets
	// out of Go's poller, which would otherwise wake for every message.
	_ = t.client.Close()
	_ = t.backend.Close()
	return true
}
