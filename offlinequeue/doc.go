// Package offlinequeue buffers requests a client makes while its socket is
// down and replays them, in order, once it is back (luckystack-wire.md
// §11.3).
//
// A [Pair] holds the two independent FIFO queues a LuckyStack client keeps:
// one for API requests and one for sync requests. Each is a [Queue] of opaque
// payloads; the queue never looks inside them, so it knows nothing about
// sockets and the caller decides what "send" means.
//
//	q, err := offlinequeue.NewPair[Request](offlinequeue.Options{})
//	t, err := q.API().Enqueue("api/chat/send/v1", req)
//	...
//	err = q.Flush(ctx, func(it offlinequeue.Item[Request]) error { return emit(it.Payload) })
//	result := <-t.Done // nil once sent, an *Error if the item was dropped
//
// # Bounds and drop policies
//
// Each queue holds at most [Options.MaxSize] items (default 100) for at most
// [Options.MaxAge] (default 5 minutes). When a queue is full, the incoming
// item's [Policy] decides, falling back to the queue's: [Reject] and
// [DropNewest] refuse the new item with an error whose code is
// [CodeQueueFull]; [DropOldest] evicts the head, which is then reported as
// dropped with [ReasonQueueFull] ([CodeDropped]). The default is Reject, so
// nothing is dropped silently unless the caller asked for it. (The original
// TypeScript code defaults to 200 items, one hour and drop-oldest; its
// documentation says 100, 5 minutes and reject, which is what this package
// implements.)
//
// Expired items are dropped with [ReasonExpired] whenever the queue is
// touched by Enqueue, Flush or Prune, and are never replayed. Nothing runs in
// the background: call [Queue.Prune] from a ticker if owners of stale items
// must hear about it while the client stays offline and idle.
//
// # Every item is settled exactly once
//
// Enqueue returns a [Ticket] whose Done channel receives exactly one value
// for every accepted item: nil after a successful send, or an [*Error] when
// the item is dropped for any reason, including [Queue.RemoveByID],
// [Queue.RemoveByKey] and [Queue.Clear]. This fixes the original, where items
// removed by key were never settled and their callers waited forever
// (luckystack-wire.md §14.4 item 28). The channel is buffered, so nobody has
// to be listening. [Options.OnDrop] additionally observes every drop, for
// logging or metrics.
//
// # Flushing
//
// [Pair.Flush] replays the API queue and then the sync queue. Items are
// handed to the send function one at a time, oldest first. If send fails, the
// item goes back to the front of its queue and the flush stops and returns
// the error, so order is kept for the next attempt. A flush that is already
// running is never joined: a concurrent Flush returns [ErrFlushInProgress] at
// once, mirroring the original's "skip while flushing".
//
// # Concurrency
//
// All methods are safe for concurrent use. Send functions, OnDrop observers
// and Done receivers run without the queue's lock held, so they may call back
// into the queue.
package offlinequeue
