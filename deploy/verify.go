package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/replicate"
)

// SidecarBuild builds replicate.DefaultImage, Slipway's sidecar program
// (replicate.SidecarPackage) as a static binary in a FROM scratch image
// whose entrypoint it is: for an accessory that must bring its own image
// to a host, and for VerifyDatabases on a host that lacks it.
var SidecarBuild image.Builder = image.Go{Package: replicate.SidecarPackage, Binary: replicate.SidecarBinary}

// DatabaseFreshness is what VerifyDatabases found for one database.
type DatabaseFreshness struct {
	Database  string              // the Database's name
	Host      string              // where it is written
	Freshness replicate.Freshness // the replica's newest position
	Live      replicate.Live      // the database's own, read on Host
	Gap       replicate.Gap       // how far the replica trails it
}

// String is one line a person reads.
func (d DatabaseFreshness) String() string {
	return fmt.Sprintf("%s on %s: %s; %s", d.Database, d.Host, d.Freshness, d.Gap)
}

// VerifyDatabases checks every replicated Database against its live
// copy: the replica, read from this machine (Replica.ForOperator), must
// have its newest position younger than maxAge (0
// means replicate.DefaultMaxAge) and must hold what the database on its
// host holds, within maxLag (0 means replicate.DefaultMaxLag). The live
// position is read on the host by a one-off container of the sidecar
// image (built and delivered when the host lacks it) that mounts the
// app's volumes read-only and only stats files and reads Litestream's
// local state, so nothing is written to the database. It fails with
// replicate.ErrBehind, naming the gap in txids and time, when writes on
// the host are not reaching the replica, as when the replicator stopped
// or its local state was moved aside while the app kept writing.
func (s *Session) VerifyDatabases(ctx context.Context, maxAge, maxLag time.Duration) ([]DatabaseFreshness, error) {
	var found []DatabaseFreshness
	var errs []error
	for _, d := range s.app.Databases {
		if d.Replica == nil {
			continue
		}
		res, err := s.verifyDatabase(ctx, d, maxAge, maxLag)
		found = append(found, res)
		if err != nil {
			errs = append(errs, fmt.Errorf("verify database %s: %w", d.name(), err))
		}
	}
	if len(found) == 0 && len(errs) == 0 {
		return nil, errors.New("verify: no Database of the app has a Replica: declare them in App.Databases")
	}
	return found, errors.Join(errs...)
}

func (s *Session) verifyDatabase(ctx context.Context, d Database, maxAge, maxLag time.Duration) (DatabaseFreshness, error) {
	res := DatabaseFreshness{Database: d.name()}
	role := d.role(s.app)
	servers := s.app.Roles[role].Servers
	if len(servers) != 1 {
		return res, fmt.Errorf("role %s runs on %d servers; a database lives on exactly one", role, len(servers))
	}
	res.Host = servers[0].Host
	h, ok := s.hosts[res.Host]
	if !ok {
		return res, fmt.Errorf("host %s is not connected", res.Host)
	}
	r, _ := d.replica(s.app)
	r = r.ForOperator() // the replica is read from this machine
	start := time.Now()
	live, err := s.livePosition(ctx, h, d.Path)
	if err != nil {
		s.out.step(res.Host, role, "verify", r.String(), start, err)
		return res, err
	}
	res.Live = live
	res.Freshness, res.Gap, err = replicate.VerifyLive(ctx, r, live, maxAge, maxLag)
	s.out.step(res.Host, role, "verify", r.String(), start, err)
	return res, err
}

// livePosition runs `slipway-litestream position db` in a one-off
// container on h with the app's volumes mounted read-only, and removes
// the container afterwards.
func (s *Session) livePosition(ctx context.Context, h *hostConn, db string) (replicate.Live, error) {
	var live replicate.Live
	if _, err := h.engine.ImageInspect(ctx, replicate.DefaultImage); err != nil {
		if err := s.deliverSidecarImage(ctx, h); err != nil {
			return live, err
		}
	}
	var volumes []string
	for _, v := range s.app.Volumes {
		if !strings.HasSuffix(v, ":ro") {
			v += ":ro"
		}
		volumes = append(volumes, v)
	}
	name := s.app.Service + "-position-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	bg := context.WithoutCancel(ctx)
	defer h.engine.Remove(bg, name, true)
	spec := engine.ContainerSpec{
		Name: name, Image: replicate.DefaultImage, Cmd: []string{"position", db},
		Volumes: volumes, Restart: "no",
		Labels: map[string]string{"slipway.verify": s.app.Service},
	}
	if _, err := h.engine.Create(ctx, spec); err != nil {
		return live, fmt.Errorf("read the live position on %s: %w", h.name, err)
	}
	if err := h.engine.Start(ctx, name); err != nil {
		return live, fmt.Errorf("read the live position on %s: %w", h.name, err)
	}
	c, err := waitExit(ctx, h.engine, name)
	if err != nil {
		return live, fmt.Errorf("read the live position on %s: %w", h.name, err)
	}
	var stdout, stderr strings.Builder
	if err := h.engine.Logs(ctx, name, engine.LogOptions{}, &stdout, &stderr); err != nil {
		return live, fmt.Errorf("read the live position on %s: %w", h.name, err)
	}
	if c.ExitCode != 0 {
		return live, fmt.Errorf("read the live position of %s on %s (exit %d): %s", db, h.name, c.ExitCode, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal([]byte(stdout.String()), &live); err != nil {
		return live, fmt.Errorf("read the live position of %s on %s: %w: %q", db, h.name, err, stdout.String())
	}
	return live, nil
}

// deliverSidecarImage builds the sidecar image here and delivers it to h.
func (s *Session) deliverSidecarImage(ctx context.Context, h *hostConn) error {
	start := time.Now()
	targets := []image.Target{{Name: h.name, SSH: h.ssh, Engine: h.engine}}
	platforms, err := image.Targets(ctx, targets)
	if err != nil {
		return err
	}
	built, err := SidecarBuild.Build(ctx, platforms, io.Discard)
	if err != nil {
		return fmt.Errorf("build the sidecar image: %w", err)
	}
	defer built.Close()
	_, err = image.Deliver(ctx, built, replicate.DefaultImage, targets, image.Options{})
	s.out.step(h.name, "", "sidecar-image", replicate.DefaultImage, start, err)
	return err
}
