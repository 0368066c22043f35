package events

import "errors"

// ErrNotIndexed is wrapped by [ParseIndexed] when a name is not a reply
// prefix followed by a canonical integer index.
var ErrNotIndexed = errors.New("events: not an indexed reply name")

// ErrInvalidResponseIndex is wrapped by [ResponseIndex.UnmarshalJSON] when
// the value is neither an integral JSON number nor a canonical decimal string.
var ErrInvalidResponseIndex = errors.New("events: invalid responseIndex")

// ErrNotObject is wrapped by functions that spread a payload into a frame
// when the payload is not a JSON object. JavaScript's object spread silently
// turns such values into {} or index-keyed objects; refusing them surfaces the
// handler bug instead.
var ErrNotObject = errors.New("events: payload is not a JSON object")
