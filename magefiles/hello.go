//go:build mage

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy"
	"github.com/slipwayhq/slipway/examples/hello/deployment"
	"github.com/slipwayhq/slipway/internal/lab"
)

// Hello deploys examples/hello to the local lab (bringing it up first) and prints its URL and a curl line.
func Hello(ctx context.Context) error {
	start := time.Now()
	// On a fresh machine the lab takes minutes (packages, builds, hosts):
	// every step prints a line as it starts and one with its duration.
	fmt.Println("bringing the lab up (the first run installs packages and builds kamal-proxy, the S3 server and the test images)")
	if _, err := upLab(ctx, os.Stdout, 0); err != nil {
		return err
	}
	labTime := time.Since(start)
	fmt.Printf("lab ready in %s; deploying examples/hello\n\n", labTime.Round(100*time.Millisecond))
	deployStart := time.Now()
	app := deployment.Lab()
	version, err := deploy.GitVersion(ctx, ".")
	if err != nil {
		version = "v" + time.Now().UTC().Format("20060102150405")
	}
	s, err := deploy.Connect(ctx, app, deploy.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Deploy(ctx, deploy.Release{Version: version}); err != nil {
		return err
	}
	url := "http://" + app.PrimaryHost() + "/"
	body, err := get(url)
	if err != nil {
		return fmt.Errorf("hello is deployed but %s does not answer: %w", url, err)
	}
	fmt.Printf("\nhello %s is live at %s (%s from nothing: lab %s, deploy %s)\n  curl %s\n  -> %s\n", version, url,
		time.Since(start).Round(100*time.Millisecond), labTime.Round(100*time.Millisecond),
		time.Since(deployStart).Round(100*time.Millisecond), url, strings.TrimSpace(body))
	fmt.Println("Its database replicates to the lab's S3 server; try `cd examples/hello && go run mage.go -l`.")
	return nil
}

// upLab brings the lab's hosts and its S3 server up, with hello's bucket.
func upLab(ctx context.Context, log io.Writer, hosts int) (*lab.Lab, error) {
	l, err := lab.Up(ctx, lab.Options{Log: log, Hosts: hosts})
	if err != nil {
		return nil, err
	}
	s3, err := lab.StartS3(ctx, lab.Options{Log: log})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(s3.Dir, deployment.LabBucket), 0o755); err != nil {
		return nil, err
	}
	return l, nil
}

func get(url string) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s: %s", resp.Status, b)
	}
	return string(b), err
}
