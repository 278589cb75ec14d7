//go:build mage

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/internal/lab"
)

const demoName, demoPort = "slipway-demo", 8080

// Demo brings the lab up and starts the test app on every lab host over SSH, printing where it answers.
func Demo(ctx context.Context) error {
	l, err := lab.Up(ctx, lab.Options{Log: io.Discard})
	if err != nil {
		return err
	}
	for _, h := range l.Hosts {
		start := time.Now()
		if err := startDemo(ctx, h); err != nil {
			return err
		}
		url := h.URL(demoPort)
		body, err := waitHTTP(ctx, url, 10*time.Second)
		if err != nil {
			return fmt.Errorf("%s: the app did not answer at %s: %w", h.Name, url, err)
		}
		fmt.Printf("%s  %-24s answers %q in %s   try: curl %s\n", h.Name, url, strings.TrimSpace(body),
			time.Since(start).Round(time.Millisecond), url)
	}
	return nil
}

// startDemo replaces the demo container on h, through the SDK's transport.
func startDemo(ctx context.Context, h lab.Host) error {
	c, e, err := h.Connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	defer e.Close()
	if err := e.Remove(ctx, demoName, true); err != nil && !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if _, err := e.Create(ctx, engine.ContainerSpec{
		Name:   demoName,
		Image:  lab.TestAppImage + ":v1",
		Labels: map[string]string{"slipway.demo": "true"},
		Ports:  []string{fmt.Sprintf("%d:%d", demoPort, lab.TestAppPort)},
	}); err != nil {
		return err
	}
	return e.Start(ctx, demoName)
}

func waitHTTP(ctx context.Context, url string, limit time.Duration) (string, error) {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b), nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
