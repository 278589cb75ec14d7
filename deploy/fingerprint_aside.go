package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// A replacement (Step.Aside) frees a container's name for its successor
// without a gap. kamal-proxy dials its target by name on each new
// connection, so renaming the container it routes to would fail new
// requests until the switch. Instead the service is first pointed at the
// old container by its short ID, which the engine's DNS resolves on the
// app's network (instant: the container is healthy), then the container
// is renamed aside, the new one made under the name, and the gated
// proxy-deploy moves the service to "name:port" as for any release.

// shortID is the engine's short form of a container ID, which is also one
// of the container's DNS names on a user-defined network.
func shortID(id string) string { return id[:min(12, len(id))] }

// setAside renames the container of st's name to st.Aside, pointing
// kamal-proxy at it by ID first when it runs and the role's service
// routes to it (a StepStart; a handoff's service is paused). A container
// already set aside (a retry) or missing is not an error.
func (s *Session) setAside(ctx context.Context, h *hostConn, st Step) error {
	e := h.engine
	if c, err := e.Inspect(ctx, st.Aside); err == nil {
		s.noteAside(st, c.ID)
		return nil
	} else if !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	c, err := e.Inspect(ctx, st.Container)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Kind == StepStart && c.Running() {
		if err := s.routeTo(ctx, h, st.Role, []string{st.Container}, shortID(c.ID)); err != nil {
			return fmt.Errorf("point %s at %s by its ID before renaming it aside: %w", ProxyService(s.app, st.Role), st.Container, err)
		}
	}
	if err := e.Rename(ctx, st.Container, st.Aside); err != nil {
		return err
	}
	s.noteAside(st, c.ID)
	return nil
}

// noteAside records that the container st replaces is aside, with its ID.
func (s *Session) noteAside(st Step, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.boots[bootKey(st.Host, st.Container)]; ok {
		b.aside, b.asideID = st.Aside, id
	}
}

// routeTo points role's service on h at target (a container name or ID)
// when it routes to one of from now; a role without a proxy, or a
// service routed elsewhere, is left alone.
func (s *Session) routeTo(ctx context.Context, h *hostConn, role string, from []string, target string) error {
	px := s.app.Roles[role].Proxy
	if px == nil {
		return nil
	}
	var routes []proxy.Route
	err := s.call(ctx, h.name, "kamal-proxy list", s.opts.callTimeout(), func(ctx context.Context) error {
		var err error
		routes, err = proxy.List(ctx, h.engine, proxy.DefaultContainer)
		return err
	})
	if err != nil {
		return err
	}
	routed := false
	for _, r := range routes {
		for _, f := range from {
			if r.Service == ProxyService(s.app, role) && r.Target == fmt.Sprintf("%s:%d", f, px.appPort()) {
				routed = true
			}
		}
	}
	if !routed {
		return nil
	}
	return proxy.Deploy(ctx, h.engine, proxy.DefaultContainer, *proxyDeploy(s.app, role, target, h.name))
}

// putBack undoes a replacement whose new container failed and is gone:
// the old container gets its name back and, when kamal-proxy routes to
// it by ID or by its aside name, the service is pointed at it by name
// again, by ID first so that no request finds a name missing. It says
// what it did, for the cleanup's output and audit lines.
func (s *Session) putBack(ctx context.Context, h *hostConn, b boot) (string, error) {
	e := h.engine
	id := b.asideID
	if id == "" { // never renamed: the name is still the old container's
		c, err := e.Inspect(ctx, b.container)
		if err != nil {
			return "left " + b.container + " as it is", err
		}
		if err := s.routeTo(ctx, h, b.role, []string{shortID(c.ID)}, b.container); err != nil {
			return "left " + b.container + " as it is", err
		}
		return "kept " + b.container + ": it was not renamed aside", nil
	}
	if err := s.routeTo(ctx, h, b.role, []string{b.aside}, shortID(id)); err != nil {
		return "left " + b.aside + " as it is", err
	}
	if err := e.Rename(ctx, b.aside, b.container); err != nil {
		return "left " + b.aside + " as it is", err
	}
	if err := s.routeTo(ctx, h, b.role, []string{shortID(id)}, b.container); err != nil {
		return "renamed " + b.aside + " back to " + b.container, err
	}
	return "renamed " + b.aside + " back to " + b.container + " (the container it replaced serves again)", nil
}

// byID is target ("name:port") with the container's short ID for its name.
func byID(id, target string) string {
	_, port, _ := strings.Cut(target, ":")
	return shortID(id) + ":" + port
}

// noteMade records the ID of the container st made.
func (s *Session) noteMade(st Step, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.boots[bootKey(st.Host, st.Container)]; ok {
		b.id = id
	}
}
