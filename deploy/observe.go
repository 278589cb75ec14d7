package deploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/proxy"
)

// Observe reads what runs on every host, changing nothing: the app's
// containers (found by their labels), kamal-proxy and its routes, the
// images present, and the lock.
func (s *Session) Observe(ctx context.Context) (_ State, err error) {
	defer s.redactErr(&err)
	return s.observe(ctx, true, "")
}

// observe reads every host; withLock also reads the lock, which an
// operation that holds it has no need to. A deploy of a release passes
// its version: kamal-proxy's routes are then read only on the hosts
// where a container of that release runs, the one case where the plan
// looks at them (proxyPointsAt). Listing the routes is an exec in
// kamal-proxy, the dearest call of an observation (on 22 lab hosts at
// once, most of its 1.5 s). "" reads every host's routes.
func (s *Session) observe(ctx context.Context, withLock bool, deploying string) (State, error) {
	hosts := s.app.HostNames()
	per := make([]HostState, len(hosts))
	err := s.onHosts(hosts, func(i int, h *hostConn) error {
		err := s.call(ctx, h.name, "observe", s.opts.callTimeout(), func(ctx context.Context) error {
			var err error
			per[i], err = observeHost(ctx, s.app, h.name, h.engine, deploying)
			return err
		})
		if err != nil {
			return fmt.Errorf("observe: %w", err)
		}
		return nil
	})
	if err != nil {
		return State{}, err
	}
	state := State{Hosts: make(map[string]HostState, len(hosts))}
	for i, host := range hosts {
		state.Hosts[host] = per[i]
	}
	if withLock {
		lock, err := s.LockStatus(ctx)
		if err != nil {
			return State{}, err
		}
		state.Lock = lock
	}
	return state, nil
}

// observeHost reads one host (see observe for deploying), and refuses it
// when a container there belongs to someone else under one of a's names
// (nameCollision): one listing of every container serves both.
func observeHost(ctx context.Context, a App, host string, e *engine.Engine, deploying string) (HostState, error) {
	var hs HostState
	cs, err := e.List(ctx, engine.ListOptions{All: true})
	if err != nil {
		return hs, err
	}
	if err := nameCollision(a, host, cs); err != nil {
		return hs, err
	}
	routes := deploying == "" || len(a.balancedOn(host)) > 0 // a balancer's targets are always compared
	for _, c := range cs {
		if c.Labels[LabelService] != a.Service {
			continue
		}
		routes = routes || c.Running() && c.Labels[LabelVersion] == deploying
		hs.Containers = append(hs.Containers, Container{
			Name: c.Name, Role: c.Labels[LabelRole], Destination: c.Labels[LabelDestination],
			Version: c.Labels[LabelVersion], Accessory: c.Labels[LabelAccessory], Running: c.Running(), Created: c.Created,
			ID: c.ID, ImageID: c.ImageID, Fingerprint: ParseFingerprint(c.Labels[LabelFingerprint]),
		})
	}
	px, err := e.Inspect(ctx, proxy.DefaultContainer)
	switch {
	case errors.Is(err, engine.ErrNotFound):
	case err != nil:
		return hs, err
	default:
		hs.Proxy = &ProxyState{Running: px.Running(), Image: px.Image, Services: map[string]string{},
			Fingerprint: ParseFingerprint(px.Labels[LabelFingerprint])}
		if px.Running() && routes {
			routes, err := proxy.List(ctx, e, proxy.DefaultContainer)
			if err != nil {
				return hs, err
			}
			for _, r := range routes {
				hs.Proxy.Services[r.Service] = r.Target
			}
		}
	}
	images, err := e.ImageList(ctx, nil)
	if err != nil {
		return hs, err
	}
	for _, img := range images {
		hs.Images = append(hs.Images, img.Tags...)
		for _, tag := range img.Tags {
			if hs.ImageIDs == nil {
				hs.ImageIDs = map[string]string{}
			}
			hs.ImageIDs[tag] = img.ID
		}
	}
	return hs, nil
}
