//go:build !unix

package socketio

// rawReadSupported: elsewhere the reader uses plain blocking reads.
const rawReadSupported = false

func (r *wsReader) readRaw(uintptr) bool { return true }
