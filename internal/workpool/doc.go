// Package workpool runs short tasks on reused goroutines.
//
// A fresh goroutine starts with a 2 KB stack and grows it by copying each
// time a task needs more, and an idle wait written as a select over a job
// channel, a timer and a quit channel costs a timer reset and a selectgo
// per task. In a round-trip benchmark both together were more CPU than
// anything but the syscalls. Here an idle worker waits on its own channel
// alone, the pool hands a task to the worker that went idle last (its stack
// and caches are the warmest), and one timer per pool, armed only while
// workers are idle, retires those idle for longer than the idle period.
package workpool
