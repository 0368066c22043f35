package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/luckystack/luckystack-go"
	"github.com/luckystack/luckystack-go/api"
	"github.com/luckystack/luckystack-go/sync"
)

// LoginInput is the guest login's input.
type LoginInput struct {
	Name string `json:"name"`
}

// Validate refuses empty and over-long names (api.invalidInputType).
func (in LoginInput) Validate() error {
	n := strings.TrimSpace(in.Name)
	if n == "" || utf8.RuneCountInString(n) > 64 {
		return errors.New("name must have 1 to 64 characters")
	}
	return nil
}

// LoginOutput is spread onto the success envelope:
// {status:"success", httpStatus:200, token, userId, name}.
type LoginOutput struct {
	Token  string `json:"token"`
	UserID string `json:"userId"`
	Name   string `json:"name"`
}

// WhoAmI is the output of the API that requires a login.
type WhoAmI struct {
	UserID string   `json:"userId"`
	Name   string   `json:"name"`
	Rooms  []string `json:"rooms"`
}

// ChatInput is what a sender sends on sync/chat/message/v1.
type ChatInput struct {
	Text string `json:"text"`
}

// Validate keeps messages between 1 and 2000 characters.
func (in ChatInput) Validate() error {
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Text)); n == 0 || n > 2000 {
		return errors.New("text must have 1 to 2000 characters")
	}
	return nil
}

// ChatMessage is the server output every room member receives.
type ChatMessage struct {
	Room   string `json:"room"`
	Text   string `json:"text"`
	From   string `json:"from"`
	FromID string `json:"fromId"`
	At     int64  `json:"at"`
}

// registerRoutes adds the example's routes:
//
//   - api/system/echo/v1 returns its input;
//   - api/system/login/v1 {"name"} creates a guest session; over HTTP it
//     also sets the session cookie;
//   - api/chat/whoami/v1 requires a login;
//   - sync/chat/message/v1 sends a chat line to a room the sender is in,
//     with a client handler telling each recipient whether it wrote it.
func registerRoutes(srv *luckystack.Server, apiMod *api.Module, syncMod *sync.Module) error {
	return errors.Join(
		api.Register(apiMod, "system/echo/v1", api.Route[map[string]any, map[string]any]{
			Handler: func(_ context.Context, _ *api.Request, in map[string]any) (map[string]any, error) { return in, nil },
		}),
		api.Register(apiMod, "system/login/v1", api.Route[LoginInput, LoginOutput]{
			Method: http.MethodPost,
			Handler: func(ctx context.Context, req *api.Request, in LoginInput) (LoginOutput, error) {
				name := strings.TrimSpace(in.Name)
				id := "guest-" + luckystack.NewToken()[:12]
				token, err := srv.CreateSession(ctx, &luckystack.Session{ID: id, Name: name})
				if err != nil {
					return LoginOutput{}, err
				}
				if h := req.ResponseHeader(); h != nil {
					h.Add("Set-Cookie", srv.SessionCookie(token).String())
				}
				return LoginOutput{Token: token, UserID: id, Name: name}, nil
			},
		}),
		api.Register(apiMod, "chat/whoami/v1", api.Route[struct{}, WhoAmI]{
			Auth: api.Auth{Login: true},
			Handler: func(_ context.Context, req *api.Request, _ struct{}) (WhoAmI, error) {
				rooms := req.Session.RoomCodes
				if rooms == nil {
					rooms = []string{}
				}
				return WhoAmI{UserID: req.Session.ID, Name: req.Session.Name, Rooms: rooms}, nil
			},
		}),
		sync.Register(syncMod, "chat/message/v1", sync.Route[ChatInput, ChatMessage]{
			Auth: api.Auth{Login: true},
			Server: func(_ context.Context, req *sync.Request, in ChatInput) (ChatMessage, error) {
				return ChatMessage{
					Room: req.Receiver, Text: strings.TrimSpace(in.Text),
					From: req.Session.Name, FromID: req.Session.ID, At: time.Now().UnixMilli(),
				}, nil
			},
			Client: func(_ context.Context, rc *sync.Recipient, _ ChatInput, msg ChatMessage) (any, error) {
				return map[string]bool{"mine": rc.UserID == msg.FromID}, nil
			},
		}),
	)
}
