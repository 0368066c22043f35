package redisadapter

// This file is the publishing side: callers append to a bounded queue and
// return at once; one goroutine takes everything queued and sends it to Redis
// as pipelines. One goroutine and one pipeline at a time keep the order of
// publishes (per channel and overall), so a broadcast followed by a request
// reaches peers in that order, as it does from Node's single connection.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// maxBatch caps the commands of one pipeline, so one failure loses at
	// most this many messages and the queue keeps moving under load.
	maxBatch = 1024
	// publishTimeout bounds one pipeline round trip when the client itself
	// sets no shorter limit.
	publishTimeout = 5 * time.Second
)

// pubItem is one queued command: a PUBLISH, or a PUBSUB NUMSUB when numsub
// is set (queued like publishes so it sees them in order and never blocks a
// caller past its context).
type pubItem struct {
	channel string
	payload []byte
	numsub  *numsubJob
}

// numsubJob carries a PUBSUB NUMSUB result back to the waiting caller.
type numsubJob struct {
	done chan struct{} // closed when n and err are set
	n    int64
	err  error
}

// publisher owns the queue and the goroutine that drains it.
type publisher struct {
	a       *Adapter
	cluster *redis.ClusterClient // non-nil when NUMSUB must be summed over masters
	wake    chan struct{}        // capacity 1: "the queue went non-empty"
	spare   []pubItem            // drained batch kept for reuse; publisher goroutine only
	cmds    []redis.Cmder        // exec's commands, reused; publisher goroutine only

	mu     sync.Mutex // Protects following.
	queue  []pubItem
	closed bool
}

func newPublisher(a *Adapter) *publisher {
	p := &publisher{a: a, wake: make(chan struct{}, 1)}
	p.cluster, _ = a.client.(*redis.ClusterClient)
	return p
}

// publish queues payload for channel. It never waits for Redis.
func (p *publisher) publish(channel string, payload []byte) error {
	return p.enqueue(pubItem{channel: channel, payload: payload})
}

// numSub returns the number of subscribers of channel across Redis, or ctx's
// error when the answer does not come in time.
func (p *publisher) numSub(ctx context.Context, channel string) (int, error) {
	job := &numsubJob{done: make(chan struct{})}
	if err := p.enqueue(pubItem{channel: channel, numsub: job}); err != nil {
		return 0, err
	}
	select {
	case <-job.done:
		if job.err != nil {
			return 0, fmt.Errorf("redisadapter: PUBSUB NUMSUB: %w", job.err)
		}
		return int(job.n), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("redisadapter: PUBSUB NUMSUB: %w", ctx.Err())
	}
}

func (p *publisher) enqueue(it pubItem) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if len(p.queue) >= p.a.opts.MaxPendingPublishes {
		p.mu.Unlock()
		p.a.stats.queueFull.Add(1)
		return ErrQueueFull
	}
	p.queue = append(p.queue, it)
	first := len(p.queue) == 1
	p.mu.Unlock()
	if first {
		// The goroutine empties the queue whenever it takes it, so only the
		// first item after that needs to wake it.
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// close refuses new items; run flushes what is queued and returns.
func (p *publisher) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take swaps the queue for the spare slice, so producers append to memory
// the goroutine is not reading.
func (p *publisher) take() (batch []pubItem, closed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		// Nothing to swap: the queue keeps its memory, and so does spare.
		return nil, p.closed
	}
	batch = p.queue
	p.queue = p.spare[:0]
	p.spare = nil
	return batch, p.closed
}

// run is the publishing goroutine.
func (p *publisher) run() {
	failures := 0
	for range p.wake {
		for {
			batch, closed := p.take()
			if len(batch) == 0 {
				if closed {
					return
				}
				break
			}
			for i := 0; i < len(batch); i += maxBatch {
				chunk := batch[i:min(i+maxBatch, len(batch))]
				if closed && failures > 0 {
					// Shutting down while Redis fails: waiting for it once
					// more per batch would only delay Close.
					p.drop(chunk)
					continue
				}
				if p.exec(chunk) {
					failures = 0
					continue
				}
				failures++
				if closed {
					continue // shutting down: no point waiting for Redis
				}
				// Redis is failing: pause so a dead server is not hammered,
				// while new publishes wait in the queue (bounded) and go out
				// once it answers again.
				select {
				case <-time.After(backoff(failures)):
				case <-p.a.ctx.Done():
				}
			}
			clear(batch) // drop payload references before reuse
			// Kept whatever its size: the queue never exceeds
			// MaxPendingPublishes, and under load it reaches that size again
			// at once, so dropping it would only mean growing it anew.
			p.spare = batch[:0]
		}
	}
}

// exec sends one batch as a pipeline and reports whether Redis took it.
// Failed publishes are lost (pub/sub is at-most-once; retrying a batch that
// was partly written would duplicate messages) and reported.
func (p *publisher) exec(batch []pubItem) bool {
	ctx, cancel := context.WithTimeout(p.a.ctx, publishTimeout)
	defer cancel()
	pipe := p.a.client.Pipeline()
	if cap(p.cmds) < len(batch) {
		p.cmds = make([]redis.Cmder, maxBatch)
	}
	cmds := p.cmds[:len(batch)]
	defer clear(cmds) // the commands hold payloads: release them
	queued := 0
	var clusterJobs []pubItem
	for i, it := range batch {
		switch {
		case it.numsub == nil:
			cmds[i] = pipe.Publish(ctx, it.channel, it.payload)
			queued++
		case p.cluster != nil:
			clusterJobs = append(clusterJobs, it)
		default:
			cmds[i] = pipe.PubSubNumSub(ctx, it.channel)
			queued++
		}
	}
	var execErr error
	if queued > 0 {
		_, execErr = pipe.Exec(ctx)
	}
	failed, total := 0, 0
	var firstErr error
	for i, it := range batch {
		switch c := cmds[i].(type) {
		case *redis.IntCmd:
			total++
			if err := c.Err(); err != nil {
				failed++
				firstErr = firstNonNil(firstErr, err)
			}
		case *redis.MapStringIntCmd:
			it.numsub.n, it.numsub.err = c.Val()[it.channel], c.Err()
			close(it.numsub.done)
		}
	}
	for _, it := range clusterJobs {
		it.numsub.n, it.numsub.err = p.clusterNumSub(ctx, it.channel)
		close(it.numsub.done)
	}
	p.a.stats.published.Add(uint64(total - failed))
	if failed > 0 {
		p.a.stats.publishFailed.Add(uint64(failed))
		p.a.report("redisadapter: publish failed", fmt.Errorf("%d of %d messages lost: %w", failed, total, firstErr),
			"lost", failed)
	}
	return execErr == nil
}

// drop gives up on a batch: publishes count as failed, NUMSUB callers get
// ErrClosed.
func (p *publisher) drop(batch []pubItem) {
	lost := 0
	for _, it := range batch {
		if it.numsub != nil {
			it.numsub.err = ErrClosed
			close(it.numsub.done)
		} else {
			lost++
		}
	}
	if lost > 0 {
		p.a.stats.publishFailed.Add(uint64(lost))
		p.a.report("redisadapter: publish failed", fmt.Errorf("%d messages lost at close: %w", lost, ErrClosed), "lost", lost)
	}
}

// clusterNumSub sums the subscribers of channel over the masters: a cluster
// node only counts its own clients (Node's adapter does the same).
func (p *publisher) clusterNumSub(ctx context.Context, channel string) (int64, error) {
	var mu sync.Mutex
	var sum int64
	err := p.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		m, err := c.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			return err
		}
		mu.Lock()
		sum += m[channel]
		mu.Unlock()
		return nil
	})
	return sum, err
}

// firstNonNil keeps the first non-nil error.
func firstNonNil(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
