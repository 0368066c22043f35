// Command chat-cli is a terminal client for the chat example
// (examples/chat), built on the client package: it logs in as a guest
// through api/system/login/v1, joins a room, sends every line typed with
// sync/chat/message/v1 and prints the room's messages as they arrive.
//
//	go run ./examples/chat 3000 &
//	go run ./examples/chat-cli -name ada -room lobby
//
// Lines starting with "/" are commands: /join ROOM, /leave, /rooms, /quit.
// The client reconnects by itself (rejoining the room and sending what was
// typed meanwhile); status changes are printed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chat-cli:", err)
		os.Exit(1)
	}
}

// config is what the flags set.
type config struct {
	url, name, room string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("chat-cli", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:3000", "chat server address")
	fs.StringVar(&cfg.name, "name", "", "guest name (required)")
	fs.StringVar(&cfg.room, "room", "lobby", "room to join")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if cfg.name == "" {
		return cfg, fmt.Errorf("-name is required")
	}
	return cfg, nil
}

// run connects, logs in, joins the room and relays lines until stdin ends,
// /quit, or ctx is cancelled.
func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	cfg, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	ch, err := newChat(ctx, cfg, out)
	if err != nil {
		return err
	}
	defer ch.close()
	return ch.loop(ctx, in)
}
