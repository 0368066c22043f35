package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/internal/testutil"
	"github.com/luckystack/luckystack-go/internal/testutil/servetest"
	lssync "github.com/luckystack/luckystack-go/sync"
)

func TestMain(m *testing.M) { testutil.RunWithLeakCheck(m) }

// chatServer serves what chat-cli uses of examples/chat, with the same
// route definitions (examples/chat is a main package and cannot be
// imported): the guest login api/system/login/v1 and sync/chat/message/v1
// with its client handler, in cookie mode.
func chatServer(t *testing.T) string {
	t.Helper()
	apiMod := api.New(api.Options{})
	syncMod := lssync.New(lssync.Options{Limiter: apiMod.Limiter()})
	srv, err := luckystack.NewServer(luckystack.Options{
		Args: []string{"0"}, IP: "127.0.0.1", Modules: []luckystack.Module{apiMod, syncMod},
		Getenv: func(string) string { return "" },
	})
	require.NoError(t, err)
	type loginIn struct {
		Name string `json:"name"`
	}
	type loginOut struct {
		Token  string `json:"token"`
		UserID string `json:"userId"`
		Name   string `json:"name"`
	}
	require.NoError(t, api.Register(apiMod, "system/login/v1", api.Route[loginIn, loginOut]{
		Handler: func(ctx context.Context, _ *api.Request, in loginIn) (loginOut, error) {
			id := "guest-" + luckystack.NewToken()[:12]
			tok, err := srv.CreateSession(ctx, &luckystack.Session{ID: id, Name: in.Name})
			return loginOut{Token: tok, UserID: id, Name: in.Name}, err
		},
	}))
	type chatIn struct {
		Text string `json:"text"`
	}
	require.NoError(t, lssync.Register(syncMod, "chat/message/v1", lssync.Route[chatIn, chatMessage]{
		Auth: api.Auth{Login: true},
		Server: func(_ context.Context, req *lssync.Request, in chatIn) (chatMessage, error) {
			return chatMessage{Room: req.Receiver, Text: in.Text, From: req.Session.Name, FromID: req.Session.ID, At: time.Now().UnixMilli()}, nil
		},
		Client: func(_ context.Context, rc *lssync.Recipient, _ chatIn, msg chatMessage) (any, error) {
			return map[string]bool{"mine": rc.UserID == msg.FromID}, nil
		},
	}))
	return servetest.Serve(t, srv, 5*time.Second)
}

// lockedBuffer is a bytes.Buffer safe for the CLI's two writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// session runs the CLI with a pipe as its terminal.
type session struct {
	in   *io.PipeWriter
	out  *lockedBuffer
	done chan error
}

func startCLI(t *testing.T, args ...string) *session {
	t.Helper()
	r, w := io.Pipe()
	s := &session{in: w, out: &lockedBuffer{}, done: make(chan error, 1)}
	go func() { s.done <- run(context.Background(), args, r, s.out) }()
	t.Cleanup(func() { _ = w.Close() })
	return s
}

func (s *session) waitFor(t *testing.T, text string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(s.out.String(), text) }, 5*time.Second, 5*time.Millisecond,
		"waiting for %q in:\n%s", text, s.out)
}

func (s *session) say(t *testing.T, line string) {
	t.Helper()
	_, err := io.WriteString(s.in, line+"\n")
	require.NoError(t, err)
}

func TestChatBetweenTwoTerminals(t *testing.T) {
	url := chatServer(t)
	ada := startCLI(t, "-url", url, "-name", "ada", "-room", "lobby")
	bob := startCLI(t, "-url", url, "-name", "bob", "-room", "lobby")
	ada.waitFor(t, "* joined lobby")
	bob.waitFor(t, "* joined lobby")
	assert.Contains(t, ada.out.String(), "* logged in as ada (guest-")

	ada.say(t, "hello bob")
	bob.waitFor(t, "lobby <ada> hello bob")
	ada.waitFor(t, "lobby <ada> hello bob")

	bob.say(t, "/rooms")
	bob.waitFor(t, "* rooms: lobby")
	bob.say(t, "/join side")
	bob.waitFor(t, "* joined side")
	ada.say(t, "only lobby")
	ada.waitFor(t, "<ada> only lobby")
	bob.say(t, "/quit")
	require.NoError(t, <-bob.done)
	assert.NotContains(t, bob.out.String(), "only lobby", "bob left the lobby when he joined side")

	require.NoError(t, ada.in.Close()) // end of input ends the session
	require.NoError(t, <-ada.done)
}

func TestFlags(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-room", "x"}, strings.NewReader(""), &out)
	assert.ErrorContains(t, err, "-name is required")
}
