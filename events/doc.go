// Package events holds the LuckyStack wire vocabulary: every Socket.IO event
// name the browser client and the server exchange, the builders and parser for
// the per-request reply names, the JSON payload types of those events, and the
// error envelope with its catalogue of error codes.
//
// The package is a leaf: it imports nothing from luckystack, so the server,
// the feature packages and any Go client can share one definition of the
// contract instead of repeating string literals (luckystack-wire.md §2).
//
// # Event names
//
// Fixed names are typed [Name] constants such as [NameAPIRequest] and
// [NameUserAFK]. Replies are correlated by a client-chosen integer, not by
// Socket.IO acknowledgements, so reply names embed it: [APIResponse](3) is
// "apiResponse-3". [ParseIndexed] is the exact inverse of those builders and
// rejects anything they could not have produced.
//
// # Payloads
//
// Struct field tags match the wire byte for byte. Optional fields are
// omitted when empty because the Node server drops undefined fields. Every
// request's index is a [ResponseIndex], which keeps "absent or malformed"
// apart from index 0.
//
// Decoding note: [encoding/json] reports a type mismatch on one field as a
// *json.UnmarshalTypeError but still fills the other fields. A handler that
// must answer on the reply channel even when, say, "name" has the wrong type
// can read a valid ResponseIndex from the partially decoded request; a
// malformed index is never left looking valid.
//
// # Errors on the wire
//
// [ErrorEnvelope] is the shape every error reply uses. [NewError] builds one
// from a catalogue code with that code's default HTTP status
// ([DefaultStatus]); [ErrorEnvelope.Normalize] applies the normalisation rules
// of §2.3 to envelopes that came from handlers.
//
// All functions are safe for concurrent use; the package has no mutable
// state.
package events
