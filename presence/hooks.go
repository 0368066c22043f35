package presence

import luckystack "github.com/luckystack/luckystack-go"

// Kind is what a presence update announces.
type Kind string

// Kinds of presence updates, as the wire events name them.
const (
	KindAFK  Kind = "afk"
	KindBack Kind = "back"
	KindLeft Kind = "left"
)

// ReconnectEvent is the payload of [PostSocketReconnect].
type ReconnectEvent struct {
	Token     string
	UserID    string
	RoomCodes []string
}

// GraceExpiredEvent is the payload of [PostDisconnectGraceExpired].
type GraceExpiredEvent struct {
	Token     string
	UserID    string
	RoomCodes []string
	// Reason is the disconnect reason that opened the window.
	Reason string
	// SessionDeleted reports whether the expiry deleted the session.
	SessionDeleted bool
}

// UpdateEvent is the payload of [PrePresenceUpdate] and
// [PostPresenceUpdate].
type UpdateEvent struct {
	Token     string
	UserID    string
	Kind      Kind
	RoomCodes []string
	// RecipientCount is how many sockets, across the cluster, the update
	// was sent to; set for PostPresenceUpdate only.
	RecipientCount int
}

// Hooks of the presence module. Register handlers with
// luckystack.RegisterHook on the server the module is installed on.
var (
	// PostSocketReconnect fires when a session's socket comes back inside
	// its grace window (a warm reconnect), after onSocketConnect. Cold
	// connects fire only onSocketConnect.
	PostSocketReconnect = luckystack.NewHook[ReconnectEvent]("postSocketReconnect")
	// PostDisconnectGraceExpired fires when a grace window ends with no
	// socket of the session left anywhere in the cluster, after userLeft
	// and before the deferred onSocketDisconnect.
	PostDisconnectGraceExpired = luckystack.NewHook[GraceExpiredEvent]("postDisconnectGraceExpired")
	// PrePresenceUpdate runs before userAfk, userBack or userLeft is sent to
	// room peers; a stop suppresses the update.
	PrePresenceUpdate = luckystack.NewHook[UpdateEvent]("prePresenceUpdate")
	// PostPresenceUpdate reports a sent update and its recipient count.
	PostPresenceUpdate = luckystack.NewHook[UpdateEvent]("postPresenceUpdate")
)
