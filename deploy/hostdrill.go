package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/replicate"
)

// DrillPackage is the command DrillOnHost builds and runs on the host.
const DrillPackage = "github.com/slipwayhq/slipway/replicate/cmd/slipway-drill"

// drillImage is the reference the drill command's image has on hosts.
const drillImage = "slipway/drill:latest"

// DrillOnHost runs a restore drill of r on host, in a disposable
// container: the restore, PRAGMA integrity_check and the queries run
// there, so the RTO is that host's own path to the replica and its own
// disk. r is the replica as the host reaches it. The drill command is
// built here as a static binary (no Docker needed on this machine),
// delivered over SSH, and the container and its scratch volume are
// removed afterwards. The report is appended to opts.Log, if set.
func (s *Session) DrillOnHost(ctx context.Context, host string, r replicate.Replica, opts replicate.DrillOptions) (_ replicate.DrillReport, err error) {
	defer s.redactErr(&err)
	h, ok := s.hosts[host]
	if !ok {
		return replicate.DrillReport{}, fmt.Errorf("host drill: host %s is not one of the app's hosts (%s)", host, strings.Join(s.app.HostNames(), ", "))
	}
	if err := r.Validate(); err != nil {
		return replicate.DrillReport{}, fmt.Errorf("host drill: %w", err)
	}
	env, err := s.drillEnv(ctx, r, opts)
	if err != nil {
		return replicate.DrillReport{}, err
	}

	start := time.Now()
	targets := []image.Target{{Name: host, SSH: h.ssh, Engine: h.engine}}
	platforms, err := image.Targets(ctx, targets)
	if err != nil {
		return replicate.DrillReport{}, err
	}
	built, err := image.Go{Package: DrillPackage, Binary: "/slipway-drill"}.Build(ctx, platforms, io.Discard)
	if err != nil {
		return replicate.DrillReport{}, fmt.Errorf("host drill: build the drill command: %w", err)
	}
	defer built.Close()
	if _, err := image.Deliver(ctx, built, drillImage, targets, image.Options{}); err != nil {
		return replicate.DrillReport{}, fmt.Errorf("host drill: %w", err)
	}
	s.out.step(host, "", "drill-image", drillImage, start, nil)

	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	name, volume := ProxyService(s.app, "drill-"+stamp), ProxyService(s.app, "drill-"+stamp)
	bg := context.WithoutCancel(ctx)
	defer h.engine.VolumeRemove(bg, volume, true)
	defer h.engine.Remove(bg, name, true)
	if err := h.engine.EnsureVolume(ctx, volume, map[string]string{"slipway.drill": s.app.Service}); err != nil {
		return replicate.DrillReport{}, err
	}
	t0 := time.Now()
	spec := engine.ContainerSpec{
		Name: name, Image: drillImage, Env: env, Network: s.app.network(),
		Volumes: []string{volume + ":/drill"}, Restart: "no",
		Labels: map[string]string{"slipway.drill": s.app.Service},
	}
	if _, err := h.engine.Create(ctx, spec); err != nil {
		return replicate.DrillReport{}, err
	}
	if err := h.engine.Start(ctx, name); err != nil {
		return replicate.DrillReport{}, err
	}
	c, err := waitExit(ctx, h.engine, name)
	if err != nil {
		return replicate.DrillReport{}, err
	}
	var stdout, stderr strings.Builder
	if err := h.engine.Logs(ctx, name, engine.LogOptions{}, &stdout, &stderr); err != nil {
		return replicate.DrillReport{}, err
	}
	var rep replicate.DrillReport
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		return rep, fmt.Errorf("host drill on %s: no report (exit %d): %s", host, c.ExitCode, s.Redact(strings.TrimSpace(stderr.String())))
	}
	var drillErr error
	if c.ExitCode != 0 || !rep.Passed {
		drillErr = fmt.Errorf("host drill on %s: %s", host, orDefault(rep.Error, strings.TrimSpace(stderr.String())))
	}
	s.out.step(host, "", "drill", r.String(), t0, drillErr)
	if opts.Log != "" {
		if err := appendJSONLine(opts.Log, rep); err != nil && drillErr == nil {
			drillErr = err
		}
	}
	return rep, drillErr
}

// drillEnv is the drill container's environment: the drill as JSON, a
// scratch directory, and the replica's credentials (secrets, through the
// engine API only).
func (s *Session) drillEnv(ctx context.Context, r replicate.Replica, opts replicate.DrillOptions) ([]string, error) {
	spec := r
	if r.S3 != nil {
		s3 := *r.S3
		s3.Secrets = nil // resolved below; a source does not travel
		spec.S3 = &s3
	}
	body, err := json.Marshal(struct {
		Replica replicate.Replica `json:"replica"`
		At      time.Time         `json:"at"`
		Queries []replicate.Query `json:"queries"`
	}{spec, opts.At, opts.Queries})
	if err != nil {
		return nil, err
	}
	env := []string{"SLIPWAY_DRILL=" + string(body), "TMPDIR=/drill"}
	names := r.SecretNames()
	if len(names) == 0 {
		return env, nil
	}
	var src SecretSource = EnvSecrets{}
	switch {
	case r.S3 != nil && r.S3.Secrets != nil:
		src = r.S3.Secrets
	case s.app.Secrets != nil:
		src = s.app.Secrets
	}
	for _, n := range names {
		v, err := s.secret(ctx, src, n)
		if err != nil {
			return nil, fmt.Errorf("host drill: %w", err)
		}
		env = append(env, n+"="+v)
	}
	return env, nil
}

// waitExit polls until the container has exited, then returns its state.
func waitExit(ctx context.Context, e *engine.Engine, name string) (engine.Container, error) {
	for {
		c, err := e.Inspect(ctx, name)
		if err != nil {
			return c, err
		}
		if !c.Running() && c.State != engine.StateCreated {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
