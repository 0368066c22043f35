package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/luckystack/luckystack-go/client"
)

// chatMessage is the server output of sync/chat/message/v1.
type chatMessage struct {
	Room   string `json:"room"`
	Text   string `json:"text"`
	From   string `json:"from"`
	FromID string `json:"fromId"`
	At     int64  `json:"at"`
}

// chat is one logged-in session in one room.
type chat struct {
	c   *client.Client
	out *syncWriter

	mu   sync.Mutex // Protects room.
	room string
}

// syncWriter serialises prints from the input loop and the client's
// callback goroutine.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, args...)
}

// newChat connects anonymously, logs in as a guest, reconnects with the
// session token (the server binds a socket to its session at connect) and
// joins the room.
func newChat(ctx context.Context, cfg config, w io.Writer) (*chat, error) {
	out := &syncWriter{w: w}
	var loggedIn atomic.Bool // the login's own reconnect is not news
	// The chat server runs in cookie mode: the token travels as the session
	// cookie, as it would from a browser tab.
	c, err := client.Dial(ctx, cfg.url, client.Options{TokenTransport: client.TokenInCookie, OnStatus: func(ev client.StatusEvent) {
		if !loggedIn.Load() || (ev.Status != client.StatusConnected && ev.Err == nil && ev.Reason == "") {
			return
		}
		msg := ev.Status.String()
		if ev.Reason != "" {
			msg += " (" + ev.Reason + ")"
		}
		out.printf("* %s\n", msg)
	}})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", cfg.url, err)
	}
	ch := &chat{c: c, out: out}
	if err := ch.login(ctx, cfg.name); err != nil {
		ch.close()
		return nil, err
	}
	loggedIn.Store(true)
	c.OnSync("chat/message/v1", ch.onMessage)
	if err := ch.join(ctx, cfg.room); err != nil {
		ch.close()
		return nil, err
	}
	return ch, nil
}

func (ch *chat) close() { _ = ch.c.Close() }

func (ch *chat) login(ctx context.Context, name string) error {
	res, err := ch.c.APIRequest(ctx, "system/login", "v1", map[string]string{"name": name})
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	var who struct {
		Token  string `json:"token"`
		UserID string `json:"userId"`
	}
	if err := res.Decode(&who); err != nil || who.Token == "" {
		return fmt.Errorf("login: unexpected reply %s", res.Body)
	}
	ch.c.SetToken(who.Token)
	ch.c.Reconnect()
	if err := ch.c.WaitStatus(ctx, client.StatusConnected); err != nil {
		return err
	}
	ch.out.printf("* logged in as %s (%s)\n", name, who.UserID)
	return nil
}

func (ch *chat) join(ctx context.Context, room string) error {
	if _, err := ch.c.JoinRoom(ctx, room); err != nil {
		return fmt.Errorf("join %s: %w", room, err)
	}
	ch.mu.Lock()
	old := ch.room
	ch.room = room
	ch.mu.Unlock()
	if old != "" && old != room {
		if _, err := ch.c.LeaveRoom(ctx, old); err != nil {
			ch.out.printf("! leave %s: %v\n", old, err)
		}
	}
	ch.out.printf("* joined %s\n", room)
	return nil
}

func (ch *chat) currentRoom() string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.room
}

// onMessage prints a chat line fanned out to this client.
func (ch *chat) onMessage(ev client.SyncEvent) {
	switch ev.Kind {
	case client.SyncSuccess:
		var m chatMessage
		if json.Unmarshal(ev.ServerOutput, &m) != nil {
			return
		}
		at := time.UnixMilli(m.At).Format("15:04:05")
		ch.out.printf("[%s] %s <%s> %s\n", at, m.Room, m.From, m.Text)
	case client.SyncError:
		ch.out.printf("! %s\n", ev.Err.Code)
	}
}

// loop reads commands and messages until the input ends.
func (ch *chat) loop(ctx context.Context, in io.Reader) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	// The reader blocks in Read until the input has a line or ends; a
	// terminal's stdin ends with the process.
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-done:
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return err
		case line := <-lines:
			if quit := ch.handle(ctx, strings.TrimSpace(line)); quit {
				return nil
			}
		}
	}
}

// handle runs one input line and reports whether to quit.
func (ch *chat) handle(ctx context.Context, line string) bool {
	cmd, arg, _ := strings.Cut(line, " ")
	switch cmd {
	case "":
	case "/quit":
		return true
	case "/join":
		if err := ch.join(ctx, strings.TrimSpace(arg)); err != nil {
			ch.out.printf("! %v\n", err)
		}
	case "/leave":
		room := ch.currentRoom()
		if _, err := ch.c.LeaveRoom(ctx, room); err != nil {
			ch.out.printf("! %v\n", err)
			break
		}
		ch.mu.Lock()
		ch.room = ""
		ch.mu.Unlock()
		ch.out.printf("* left %s\n", room)
	case "/rooms":
		rooms, err := ch.c.GetJoinedRooms(ctx)
		if err != nil {
			ch.out.printf("! %v\n", err)
			break
		}
		ch.out.printf("* rooms: %s\n", strings.Join(rooms, ", "))
	default:
		room := ch.currentRoom()
		if room == "" {
			ch.out.printf("! join a room first (/join ROOM)\n")
			break
		}
		// Sent now, or queued while reconnecting and sent after the rejoin.
		if _, err := ch.c.SyncRequest(ctx, "chat/message", "v1", room, map[string]string{"text": line}); err != nil {
			ch.out.printf("! %v\n", err)
		}
	}
	return false
}
