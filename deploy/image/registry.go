package image

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// ErrRegistryUnreachable is the cause of a delivery whose registry did not
// answer; test for it with errors.Is. A refused login matches
// engine.ErrUnauthorized.
var ErrRegistryUnreachable = errors.New("registry unreachable")

// Registry delivers images through a registry: the operator pushes once
// and every host's engine pulls, the login passed in the engine API's
// X-Registry-Auth header of that one request — it is never written to a
// host's disk (no docker login there) and never printed.
type Registry struct {
	// Username and Password are the registry login; both empty means
	// anonymous. Take the password from a secret.
	Username string
	Password string
	// Insecure allows plain HTTP. Loopback and private (RFC 1918)
	// addresses are always allowed plain HTTP, as engines allow them
	// only when configured with --insecure-registry.
	Insecure bool
}

// String names the registry login without its password.
func (r Registry) String() string {
	if r.Username == "" {
		return "anonymous"
	}
	return r.Username
}

func (r Registry) auth() authn.Authenticator {
	if r.Username == "" && r.Password == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.Username, Password: r.Password}
}

func (r Registry) parse(ref string) (name.Reference, error) {
	var opts []name.Option
	if r.Insecure {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(ref, opts...)
}

// Check makes sure the registry of ref answers and accepts the login,
// touching nothing. Deliver calls it first, so that a registry problem
// stops a deploy before any host is touched.
func (r Registry) Check(ctx context.Context, ref string) error {
	n, err := r.parse(ref)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	_, err = transport.NewWithContext(ctx, n.Context().Registry, r.auth(), http.DefaultTransport,
		[]string{n.Context().Scope(transport.PushScope)})
	if err == nil {
		// Basic logins are only checked on use: ask for something.
		_, err = remote.Head(n, remote.WithContext(ctx), remote.WithAuth(r.auth()))
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			err = nil
		}
	}
	if err != nil {
		return r.explain(n.Context().RegistryStr(), err)
	}
	return nil
}

// explain says what went wrong with a registry, without the password.
func (r Registry) explain(server string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("registry %s: %w (login %s): check the registry user and its password secret", server, engine.ErrUnauthorized, r)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("registry %s: %w: %v: check the registry address and that it runs", server, ErrRegistryUnreachable, err)
	}
	return fmt.Errorf("registry %s: %w", server, err)
}

// Push pushes built to ref: one image, or an index of one image per
// platform when several were built. With built nil it only checks that
// ref is in the registry.
func (r Registry) Push(ctx context.Context, built *Built, ref string) error {
	n, err := r.parse(ref)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if err := r.Check(ctx, ref); err != nil {
		return err
	}
	if built == nil {
		// Nothing to push: the image must be there already.
		if _, err := remote.Head(n, remote.WithContext(ctx), remote.WithAuth(r.auth())); err != nil {
			return fmt.Errorf("registry: %s is not there: %w", ref, r.explain(n.Context().RegistryStr(), err))
		}
		return nil
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(r.auth())}
	if len(built.Images) == 1 {
		for _, img := range built.Images {
			err = remote.Write(n, img, opts...)
		}
	} else {
		var idx v1.ImageIndex = empty.Index
		for _, p := range built.Platforms() {
			pl, perr := platformOf(p)
			if perr != nil {
				return perr
			}
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: built.Images[p], Descriptor: v1.Descriptor{Platform: &pl}})
		}
		err = remote.WriteIndex(n, idx, opts...)
	}
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, r.explain(n.Context().RegistryStr(), err))
	}
	return nil
}

// Pull makes t's engine pull ref with the registry login.
func (r Registry) Pull(ctx context.Context, t Target, ref string) error {
	n, err := r.parse(ref)
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	auth := &engine.RegistryAuth{Server: n.Context().RegistryStr(), Username: r.Username, Password: r.Password}
	return t.Engine.ImagePull(ctx, ref, auth, nil)
}

// push pushes built (or, when built is nil, checks ref is there) and
// returns how a host gets it.
func (r *Registry) push(ctx context.Context, built *Built, ref string) (func(context.Context, Target, *bar) (Result, error), error) {
	if err := r.Push(ctx, built, ref); err != nil {
		return nil, err
	}
	return func(ctx context.Context, t Target, b *bar) (Result, error) {
		b.begin(0, 0)
		res := Result{Host: t.Name}
		layers := map[string]bool{}
		n, _ := r.parse(ref)
		auth := &engine.RegistryAuth{Server: n.Context().RegistryStr(), Username: r.Username, Password: r.Password}
		err := t.Engine.ImagePull(ctx, ref, auth, func(p engine.PullProgress) {
			if p.Status == "Pull complete" {
				layers[p.ID] = true
			}
		})
		if err != nil {
			return res, err
		}
		img, err := t.Engine.ImageInspect(ctx, ref)
		if err != nil {
			return res, err
		}
		res.ImageID, res.Layers = img.ID, len(layers)
		return res, nil
	}, nil
}
