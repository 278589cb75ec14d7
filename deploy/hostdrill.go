package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/replicate"
	"github.com/slipwayhq/slipway/secret"
)

// drillImage is the repository the drill command's image has on hosts;
// each drill tags it afresh and removes its tag afterwards.
const drillImage = "slipway/drill"

// DrillOnHost runs a restore drill of r on host, in a disposable
// container: the restore, PRAGMA integrity_check and the queries run
// there, so the RTO is that host's own path to the replica and its own
// disk. r may be the replica as this machine reaches it: when it is one
// of App.Databases' replicas, the host gets that declaration instead
// (its endpoint as the hosts reach it), with the credentials resolved
// like the app's. The drill command is built here as a static binary (no
// Docker needed on this machine), delivered over SSH, and the container,
// its scratch volume and the image tag are removed afterwards. The
// report holds the data at risk, read from the database's host, and is
// appended to opts.Log, if set.
func (s *Session) DrillOnHost(ctx context.Context, host string, r replicate.Replica, opts replicate.DrillOptions) (_ replicate.DrillReport, err error) {
	defer s.redactErr(&err)
	h, ok := s.hosts[host]
	if !ok {
		return replicate.DrillReport{}, fmt.Errorf("host drill: host %s is not one of the app's hosts (%s)", host, strings.Join(s.app.HostNames(), ", "))
	}
	if err := r.Validate(); err != nil {
		return replicate.DrillReport{}, fmt.Errorf("host drill: %w", err)
	}
	hr, dbHost := s.hostReplica(r)
	env, err := s.drillEnv(ctx, hr, opts)
	if err != nil {
		return replicate.DrillReport{}, err
	}
	live := s.liveTransactions(ctx, dbHost, hr)

	start := time.Now()
	targets := []image.Target{{Name: host, SSH: h.ssh, Engine: h.engine}}
	platforms, err := image.Targets(ctx, targets)
	if err != nil {
		return replicate.DrillReport{}, err
	}
	built, err := image.Go{Package: replicate.DrillPackage, Binary: replicate.DrillBinary}.Build(ctx, platforms, io.Discard)
	if err != nil {
		return replicate.DrillReport{}, fmt.Errorf("host drill: build the drill command: %w", err)
	}
	defer built.Close()
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	ref := drillImage + ":" + stamp
	bg := context.WithoutCancel(ctx)
	defer h.engine.ImageRemove(bg, ref, false)
	if _, err := image.Deliver(ctx, built, ref, targets, image.Options{}); err != nil {
		return replicate.DrillReport{}, fmt.Errorf("host drill: %w", err)
	}
	s.out.step(host, "", "drill-image", ref, start, nil)

	name, volume := ProxyService(s.app, "drill-"+stamp), ProxyService(s.app, "drill-"+stamp)
	defer h.engine.VolumeRemove(bg, volume, true)
	defer h.engine.Remove(bg, name, true)
	if err := h.engine.VolumeEnsure(ctx, volume, map[string]string{"slipway.drill": s.app.Service}); err != nil {
		return replicate.DrillReport{}, err
	}
	t0 := time.Now()
	spec := engine.ContainerSpec{
		Name: name, Image: ref, Env: env, Network: s.app.network(),
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
	if rep.Restored.TXID > 0 && opts.At.IsZero() {
		// At the drill's own start on the host, as its Age is: both
		// then compare host-stamped times, whatever this machine's clock
		// says, and the image build before it does not shorten the RPO.
		if risk, err := s.liveRisk(live, rep.Restored.TXID, rep.Started); err == nil {
			rep.SetRisk(risk)
		} else {
			s.out.linef("%s: the data at risk is unknown: %v", live.host, err)
		}
	}
	s.out.step(host, "", "drill", r.String(), t0, drillErr)
	if opts.Log != "" {
		if err := replicate.AppendDrillLog(opts.Log, rep); err != nil && drillErr == nil {
			drillErr = err
		}
	}
	return rep, drillErr
}

// hostReplica is r as the app's hosts reach it, and the host holding its
// database: the App.Databases replica of the same target when there is
// one (r may be this machine's view of it), else r on the primary host.
func (s *Session) hostReplica(r replicate.Replica) (replicate.Replica, string) {
	for _, d := range s.app.Databases {
		hr, ok := d.replica(s.app)
		if ok && hr.Location() == r.Location() {
			host := s.app.PrimaryHost()
			if srv := s.app.Roles[d.role(s.app)].Servers; len(srv) > 0 {
				host = srv[0].Host
			}
			return hr, host
		}
	}
	return r, s.app.PrimaryHost()
}

// liveState is what a drill read of the live database's Litestream
// state at its start: the level-0 transaction files beside it, and its
// WAL's size and header.
type liveState struct {
	host string
	dir  string
	live replicate.LiveState
	err  error
}

// liveTransactions reads the Litestream state of the database of r on
// host, beside the live database, over SSH and without opening it.
func (s *Session) liveTransactions(ctx context.Context, host string, r replicate.Replica) liveState {
	st := liveState{host: host}
	h, ok := s.hosts[host]
	if !ok {
		st.err = fmt.Errorf("host %s is not one of the app's hosts", host)
		return st
	}
	volume, file, err := volumeOf(s.app.Volumes, r.DB)
	if err != nil {
		st.err = err
		return st
	}
	mount, err := h.engine.VolumeMountpoint(ctx, volume)
	if err != nil {
		st.err = err
		return st
	}
	st.dir = filepath.ToSlash(replicate.TransactionsDir(path.Join(mount, file)))
	wal := ssh.Quote(path.Join(mount, file+"-wal"))
	res, err := h.ssh.Run(ctx, fmt.Sprintf("if [ -f %[1]s ]; then stat -c %%s %[1]s; else echo 0; fi", wal), nil)
	if err == nil {
		st.live.WALSize, err = strconv.ParseInt(strings.TrimSpace(string(res.Stdout)), 10, 64)
	}
	if err != nil {
		st.err = fmt.Errorf("read the WAL of %s on %s: %w", r.DB, host, err)
		return st
	}
	st.live.WAL = func(offset int64, n int) ([]byte, error) {
		res, err := h.ssh.Run(ctx, fmt.Sprintf("tail -c +%d %s | head -c %d", offset+1, wal, n), nil)
		return res.Stdout, err
	}
	if res, err = h.ssh.Run(ctx, "ls -1 "+ssh.Quote(st.dir), nil); err != nil {
		st.err = fmt.Errorf("list the transactions of %s on %s: %w", r.DB, host, err)
		return st
	}
	st.live.Files = strings.Fields(string(res.Stdout))
	st.live.Header = func(name string) ([]byte, error) {
		res, err := h.ssh.Run(ctx, fmt.Sprintf("head -c %d %s", replicate.LTXHeaderSize, ssh.Quote(path.Join(st.dir, name))), nil)
		return res.Stdout, err
	}
	return st
}

// liveRisk is the data at risk at time at: what the live state held
// then past replicated, the replica's newest transaction.
func (s *Session) liveRisk(st liveState, replicated uint64, at time.Time) (replicate.Risk, error) {
	if st.err != nil {
		return replicate.Risk{}, st.err
	}
	return replicate.MeasureRisk(st.live, replicated, at)
}

// drillEnv is the drill container's environment: the drill as JSON, a
// scratch directory, and the replica's credentials (secrets, through the
// engine API only), resolved like the app's own: from the app's secrets
// when it has them, else from the replica's source.
func (s *Session) drillEnv(ctx context.Context, r replicate.Replica, opts replicate.DrillOptions) ([]string, error) {
	spec := r
	if r.S3 != nil {
		s3 := *r.S3
		s3.Secrets = nil // resolved below; a source does not travel
		spec.S3 = &s3
	}
	body, err := json.Marshal(replicate.DrillSpec{Replica: spec, At: opts.At, Queries: opts.Queries})
	if err != nil {
		return nil, err
	}
	env := []string{replicate.DrillSpecEnv + "=" + string(body), "TMPDIR=/drill"}
	names := r.SecretNames()
	if len(names) == 0 {
		return env, nil
	}
	appSecrets, _ := s.resolveSecrets(ctx) // the names the app's containers get, when they resolve
	var sources []secret.Source
	if s.app.Secrets != nil {
		sources = append(sources, s.app.Secrets)
	}
	if r.S3 != nil && r.S3.Secrets != nil {
		sources = append(sources, r.S3.Secrets)
	}
	if len(sources) == 0 {
		sources = append(sources, secret.Env{})
	}
	for _, n := range names {
		v, ok := appSecrets[n]
		for i := 0; !ok && i < len(sources); i++ {
			var err error
			if v, err = s.secret(ctx, sources[i], n); err == nil {
				ok = true
			} else if i == len(sources)-1 {
				return nil, fmt.Errorf("host drill: %w", err)
			}
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
