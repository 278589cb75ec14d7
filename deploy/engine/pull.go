package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// RegistryAuth is a login to a registry. The engine receives it in the
// X-Registry-Auth header of one request and keeps nothing on disk; its
// Password never appears in an error or in String.
type RegistryAuth struct {
	// Server is the registry's host[:port], such as "ghcr.io".
	Server   string
	Username string
	Password string
}

// String names the login without its password.
func (a RegistryAuth) String() string {
	if a.Username == "" {
		return a.Server + " (anonymous)"
	}
	return a.Username + "@" + a.Server
}

func (a *RegistryAuth) header() (string, error) {
	if a == nil || a.Username == "" && a.Password == "" {
		return "", nil
	}
	return authconfig.Encode(registry.AuthConfig{Username: a.Username, Password: a.Password, ServerAddress: a.Server})
}

// PullProgress is one line of an engine's pull or push progress: a layer
// (ID) in a state ("Downloading", "Pull complete", ...) with its bytes.
type PullProgress struct {
	ID      string
	Status  string
	Current int64
	Total   int64
}

// ImagePull makes the engine pull ref from its registry, with auth when it
// is not nil, calling progress (when not nil) for each progress message.
// A refused login is reported as such, with the registry and user named
// and the password left out. The pull lasts as long as the engine reports
// progress or still answers (see Options.IdleTimeout).
func (e *Engine) ImagePull(ctx context.Context, ref string, auth *RegistryAuth, progress func(PullProgress)) error {
	hdr, err := auth.header()
	if err != nil {
		return fmt.Errorf("pull %s on %s: encode login: %w", ref, e.host, err)
	}
	w := e.watch(ctx)
	defer w.stop()
	rc, err := e.api.ImagePull(w.ctx, ref, client.ImagePullOptions{RegistryAuth: hdr})
	if err != nil {
		return fmt.Errorf("pull %s on %s: %w", ref, e.host, explainAuth(w.explain(err), auth))
	}
	defer rc.Close()
	if err := readProgress(w.reader(rc), progress); err != nil {
		if w.ctx.Err() != nil {
			err = w.explain(err)
		}
		return fmt.Errorf("pull %s on %s: %w", ref, e.host, explainAuth(err, auth))
	}
	return nil
}

// readProgress reads a JSON progress stream to its end, passing each
// message to fn, and returns the first error the stream reports.
func readProgress(r io.Reader, fn func(PullProgress)) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			ID             string `json:"id"`
			Status         string `json:"status"`
			ProgressDetail struct {
				Current int64 `json:"current"`
				Total   int64 `json:"total"`
			} `json:"progressDetail"`
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read progress: %w", err)
		}
		if msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
		if fn != nil {
			fn(PullProgress{ID: msg.ID, Status: msg.Status, Current: msg.ProgressDetail.Current, Total: msg.ProgressDetail.Total})
		}
	}
}

// ErrUnauthorized is the cause of a pull or push whose registry login was
// refused or missing; test for it with errors.Is.
var ErrUnauthorized = errors.New("registry refused the login")

// explainAuth turns an engine's "unauthorized" into ErrUnauthorized with
// the login named (never its password).
func explainAuth(err error, auth *RegistryAuth) error {
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, "unauthorized") && !strings.Contains(msg, "authentication required") && !strings.Contains(msg, "no basic auth credentials") {
		return err
	}
	who := "no login"
	if auth != nil && auth.Username != "" {
		who = "login " + auth.String()
	}
	return fmt.Errorf("%w (%s): %v; check the registry user and its password secret", ErrUnauthorized, who, err)
}
