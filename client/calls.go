package client

import (
	"encoding/json"
	"sync"

	"github.com/luckystack/luckystack-go/events"
)

// call is one request that correlates its replies by responseIndex: API,
// sync and the room operations. Frames for it are appended to its mailbox
// by the reader and consumed, in order, by the goroutine that made the
// request, so stream callbacks run on the caller's goroutine and always
// before the final reply is returned.
type call struct {
	index   int
	event   events.Name
	payload json.RawMessage // the request object, encoded once
	key     string          // route key for the offline queue ("api/chat/send/v1")

	mu     sync.Mutex // Protects following.
	frames []frame
	notify chan struct{} // closed and replaced when a frame arrives
	gen    uint64        // connection generation it was sent on; 0 = not sent
}

// frame is one message for a call: a reply-channel event, or the news that
// its connection ended.
type frame struct {
	prefix       events.Prefix
	data         json.RawMessage
	disconnected bool
}

func newCall(index int, event events.Name, key string, payload json.RawMessage) *call {
	return &call{index: index, event: event, key: key, payload: payload, notify: make(chan struct{})}
}

// push appends f and wakes the waiter.
func (cl *call) push(f frame) {
	cl.mu.Lock()
	cl.frames = append(cl.frames, f)
	close(cl.notify)
	cl.notify = make(chan struct{})
	cl.mu.Unlock()
}

// take removes and returns the queued frames, or returns the channel to wait
// on when there are none.
func (cl *call) take() ([]frame, <-chan struct{}) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if len(cl.frames) > 0 {
		f := cl.frames
		cl.frames = nil
		return f, nil
	}
	return nil, cl.notify
}

// answered reports whether a reply frame arrived for cl.
func (cl *call) answered() bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, f := range cl.frames {
		if !f.disconnected {
			return true
		}
	}
	return false
}

// reset forgets frames and the connection after a failed send, so that a
// re-queued call does not see the end of a connection it never reached.
func (cl *call) reset() {
	cl.mu.Lock()
	cl.frames = nil
	cl.gen = 0
	cl.mu.Unlock()
}

func (cl *call) sentOn() uint64 {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.gen
}

// pendingCalls maps responseIndex to the call waiting for it.
type pendingCalls struct {
	mu sync.Mutex // Protects following.
	m  map[int]*call
}

func (p *pendingCalls) add(cl *call, gen uint64) {
	p.mu.Lock()
	if p.m == nil {
		p.m = map[int]*call{}
	}
	p.m[cl.index] = cl
	p.mu.Unlock()
	cl.mu.Lock()
	cl.gen = gen
	cl.mu.Unlock()
}

// remove unregisters cl and reports whether it was registered.
func (p *pendingCalls) remove(cl *call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[cl.index] != cl {
		return false
	}
	delete(p.m, cl.index)
	return true
}

func (p *pendingCalls) get(index int) *call {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[index]
}

// failGen tells every call sent on connection gen that it ended, and
// unregisters them: a reply can no longer arrive on another connection.
func (p *pendingCalls) failGen(gen uint64) {
	p.mu.Lock()
	var failed []*call
	for i, cl := range p.m {
		if cl.sentOn() == gen {
			failed = append(failed, cl)
			delete(p.m, i)
		}
	}
	p.mu.Unlock()
	for _, cl := range failed {
		cl.push(frame{disconnected: true})
	}
}

// failAll fails every call, whatever its connection (Close).
func (p *pendingCalls) failAll() {
	p.mu.Lock()
	m := p.m
	p.m = nil
	p.mu.Unlock()
	for _, cl := range m {
		cl.push(frame{disconnected: true})
	}
}
