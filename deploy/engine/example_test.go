package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// An engine on this machine, reached through its socket; on a server the
// dial function opens a stream-local forward over SSH instead.
func ExampleNew() {
	ctx := context.Background()
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", engine.DefaultSocket)
	}
	e, err := engine.New(ctx, dial, engine.Options{Host: "localhost"})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	v, err := e.Version(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("docker %s (API %s) on %s/%s\n", v.Server, v.API, v.OS, v.Arch)
}

// An engine that accepts connections but never answers, as a stopped
// dockerd does, fails the call within Options.CallTimeout.
func ExampleOptions() {
	dir, err := os.MkdirTemp("", "engine")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "docker.sock"))
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept, read, never answer
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, conn)
		}
	}()

	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", ln.Addr().String())
	}
	_, err = engine.New(context.Background(), dial, engine.Options{Host: "h1", CallTimeout: 100 * time.Millisecond})
	fmt.Println(err)
	fmt.Println(errors.Is(err, engine.ErrNoAnswer), errors.Is(err, context.DeadlineExceeded))
	// Output:
	// docker engine on h1: socket /var/run/docker.sock: no answer within 100ms: check that dockerd there runs and is not overloaded
	// true true
}

func ExampleEngine_Create() {
	ctx := context.Background()
	var e *engine.Engine // from engine.New

	id, err := e.Create(ctx, engine.ContainerSpec{
		Name:           "app-web-v2",
		Image:          "slipway/testapp:v2",
		Env:            []string{"APP_VERSION=v2", "SECRET_KEY_BASE=never-printed"},
		Labels:         map[string]string{"service": "app", "role": "web"},
		Network:        "slipway",
		NetworkAliases: []string{"app-web"},
		Ports:          []string{"127.0.0.1:8080:3000"},
		Restart:        "unless-stopped",
		StopTimeout:    30 * time.Second,
		LogOptions:     map[string]string{"max-size": "10m"},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Start(ctx, id); err != nil {
		log.Fatal(err)
	}
}

func ExampleEngine_Inspect() {
	ctx := context.Background()
	var e *engine.Engine // from engine.New

	c, err := e.Inspect(ctx, "app-web-v2")
	switch {
	case errors.Is(err, engine.ErrNotFound):
		fmt.Println("not deployed")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%s is %s (health %s) at %s\n", c.Name, c.State, c.Health, c.IP("slipway"))
	}
}

func ExampleEngine_Exec() {
	ctx := context.Background()
	var e *engine.Engine // from engine.New

	res, err := e.Exec(ctx, "app-web-v2", []string{"/testapp", "version"}, engine.ExecOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if res.ExitCode != 0 {
		log.Fatalf("exit %d: %s", res.ExitCode, res.Stderr)
	}
	fmt.Printf("%s", res.Stdout)
}

// Follow a container's output until it stops or the caller gives up.
func ExampleEngine_Logs() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var e *engine.Engine // from engine.New

	err := e.Logs(ctx, "app-web-v2", engine.LogOptions{Tail: 100, Follow: true}, os.Stdout, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleContainerSpec_String() {
	spec := engine.ContainerSpec{
		Name:  "app-web-v2",
		Image: "slipway/testapp:v2",
		Env:   []string{"APP_VERSION=v2", "SECRET_KEY_BASE=hunter2"},
	}
	fmt.Println(spec)
	// Output: container app-web-v2 (image slipway/testapp:v2, env APP_VERSION,SECRET_KEY_BASE)
}
