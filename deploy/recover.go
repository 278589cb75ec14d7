package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
)

// DefaultContinueTimeout bounds how long Recover waits for the first
// write after the recovery to reach the replica.
const DefaultContinueTimeout = time.Minute

// Recovery says which database to bring back, from where, and to when:
// the runbook for suspected corruption or data loss, as code.
type Recovery struct {
	// Database names the App.Databases entry to recover (its Name, or
	// the base name of its Path); "" means the only one with a replica.
	// It is read when Replica is left zero.
	Database string
	// Replica is the database's replica, as this machine reaches it. Its
	// DB is the database's path inside the app's containers, such as
	// /data/hello.db; the App volume mounted over that path holds it.
	// Zero means the declared Database's replica (ForOperator's view).
	Replica replicate.Replica
	// Host holds the database; "" means the one server of the database's
	// role (the primary host when no Database is declared).
	Host string
	// At restores the state at this time, such as just before a bad
	// write; zero means the newest replicated state.
	At time.Time
	// Message is what users read while the app is in maintenance.
	Message string
	// ContinueTimeout bounds the wait for a write after the recovery to
	// reach the replica; 0 means DefaultContinueTimeout.
	ContinueTimeout time.Duration
}

// RecoveryStep is one step of a recovery, on one host.
type RecoveryStep struct {
	// Name is one of: restore, stage (before the downtime); maintenance,
	// stop-workers, stop-app, stop-accessory, catch-up, swap,
	// start-accessory, start-app, gate, live, start-workers (the
	// downtime); replica (after it).
	Name string
	Host string // "(local)" for steps on this machine
	Role string // the role, or the accessory's name
	// Container is the container a stop, start or gate step acts on.
	Container string
	Detail    string
}

// downtime reports whether the step runs while the app is down.
func (st RecoveryStep) downtime() bool {
	switch st.Name {
	case "restore", "stage", "replica":
		return false
	}
	return true
}

// RecoveryPlan is a recovery's steps, in order. Print it for a dry run or
// the team's incident notes.
type RecoveryPlan struct {
	Service string
	Host    string
	Volume  string // the volume that holds the database
	File    string // the database's file name in the volume
	Replica string
	At      time.Time
	Steps   []RecoveryStep
	replica replicate.Replica
}

// String prints the plan a person follows, step by step.
func (p RecoveryPlan) String() string {
	var b strings.Builder
	to := "the newest replicated state"
	if !p.At.IsZero() {
		to = "its state at " + p.At.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(&b, "Recover %s's database %s on %s (volume %s) from %s, to %s\n", p.Service, p.File, p.Host, p.Volume, p.Replica, to)
	down := false
	for i, st := range p.Steps {
		if st.downtime() != down {
			down = st.downtime()
			if down {
				b.WriteString("    -- the app is down from here (maintenance page for users) --\n")
			} else {
				b.WriteString("    -- the app serves again --\n")
			}
		}
		fmt.Fprintf(&b, "%2d. %-15s %-10s %-15s %s\n", i+1, st.Host, st.Role, st.Name, st.Detail)
	}
	return b.String()
}

// stagingName is where the restored database waits in the volume for
// the swap: a hidden name beside the database's.
func stagingName(file string) string { return "." + file + ".slipway-restore" }

// recoveryDatabase resolves what r recovers: the replica as this
// machine reaches it, and the host holding the database.
func (a App) recoveryDatabase(r Recovery) (replicate.Replica, string, error) {
	rep, host := r.Replica, r.Host
	if rep.DB == "" && rep.S3 == nil && rep.Dir == "" {
		var found []Database
		for _, d := range a.Databases {
			if d.Replica != nil && (r.Database == "" || r.Database == d.name()) {
				found = append(found, d)
			}
		}
		switch {
		case len(found) == 0 && r.Database != "":
			return rep, "", fmt.Errorf("recovery: Database: no replicated database %q in App.Databases", r.Database)
		case len(found) == 0:
			return rep, "", errors.New("recovery: Replica: required: declare the database with its replica in App.Databases, or give Recovery.Replica")
		case len(found) > 1:
			return rep, "", errors.New("recovery: Database: the app replicates several databases; name the one to recover")
		}
		d := found[0]
		rep, _ = d.replica(a)
		rep = rep.ForOperator() // the restore runs on this machine
		if srv := a.Roles[d.role(a)].Servers; host == "" && len(srv) > 0 {
			host = srv[0].Host
		}
	}
	return rep, orDefault(host, a.PrimaryHost()), nil
}

// PlanRecovery observes the hosts and returns the steps Recover would
// take, changing nothing.
func (s *Session) PlanRecovery(ctx context.Context, r Recovery) (_ RecoveryPlan, err error) {
	defer s.redactErr(&err)
	a := s.app
	replica, host, err := a.recoveryDatabase(r)
	if err != nil {
		return RecoveryPlan{}, err
	}
	if err := replica.Validate(); err != nil {
		return RecoveryPlan{}, fmt.Errorf("recovery: Replica: %w", err)
	}
	if _, ok := s.hosts[host]; !ok {
		return RecoveryPlan{}, fmt.Errorf("recovery: Host: %s is not one of the app's hosts (%s)", host, strings.Join(a.HostNames(), ", "))
	}
	volume, file, err := volumeOf(a.Volumes, replica.DB)
	if err != nil {
		return RecoveryPlan{}, err
	}
	state, err := s.Observe(ctx)
	if err != nil {
		return RecoveryPlan{}, err
	}
	p := RecoveryPlan{Service: a.Service, Host: host, Volume: volume, File: file, Replica: replica.String(), At: r.At, replica: replica}
	add := func(st RecoveryStep) { p.Steps = append(p.Steps, st) }

	add(RecoveryStep{Name: "restore", Host: "(local)", Detail: fmt.Sprintf("restore %s to a staging file here; PRAGMA integrity_check must say ok", p.Replica)})
	add(RecoveryStep{Name: "stage", Host: host, Detail: fmt.Sprintf("upload it to %s in volume %s, beside the damaged database, with its owner and mode", stagingName(file), volume)})

	// The downtime: no request reaches the app, and every container that
	// mounts the database's volume stops, so nothing holds the file.
	for _, role := range a.roleNames() {
		if px := a.Roles[role].Proxy; px != nil {
			for _, srv := range a.Roles[role].Servers {
				add(RecoveryStep{Name: "maintenance", Host: srv.Host, Role: role, Detail: "kamal-proxy answers " + ProxyService(a, role) + " with a 503 page"})
			}
		}
	}
	type restart struct{ host, role, container, detail string }
	var workers, apps, accessories []restart
	for _, role := range a.roleNames() {
		web := a.Roles[role].Proxy != nil
		for _, srv := range a.Roles[role].Servers {
			if web && srv.Host != host {
				continue // in maintenance: it serves nobody, and holds no copy of this database
			}
			c, ok := currentContainer(a, state, srv.Host, role)
			if !ok {
				if srv.Host == host {
					return RecoveryPlan{}, fmt.Errorf("recovery: no %s container on %s to start on the restored database; deploy the app first", role, host)
				}
				continue
			}
			detail := "stop " + c.Name
			if !c.Running {
				detail += " (already stopped; it is started afterwards)"
			}
			rs := restart{host: srv.Host, role: role, container: c.Name, detail: detail}
			if web {
				rs.detail += ", the database's writer"
				apps = append(apps, rs)
			} else {
				workers = append(workers, rs)
			}
		}
	}
	for _, name := range sortedKeys(a.Accessories) {
		if !mountsVolume(a.Accessories[name].Volumes, volume) {
			continue
		}
		ctr := AccessoryName(a, name)
		if _, ok := state.container(host, ctr); ok {
			accessories = append(accessories, restart{host: host, role: name, container: ctr,
				detail: "stop " + ctr + ": it mounts " + volume + " and must let go of the damaged file"})
		}
	}
	for _, w := range workers {
		add(RecoveryStep{Name: "stop-workers", Host: w.host, Role: w.role, Container: w.container, Detail: w.detail})
	}
	for _, w := range apps {
		add(RecoveryStep{Name: "stop-app", Host: w.host, Role: w.role, Container: w.container, Detail: w.detail})
	}
	for _, w := range accessories {
		add(RecoveryStep{Name: "stop-accessory", Host: w.host, Role: w.role, Container: w.container, Detail: w.detail})
	}
	if r.At.IsZero() {
		add(RecoveryStep{Name: "catch-up", Host: "(local)", Detail: "if the replica moved on while the app ran, restore and stage its newest state again"})
	}
	add(RecoveryStep{Name: "swap", Host: host, Detail: fmt.Sprintf("rename %s, its -wal, -shm and .%s-litestream to <name>.damaged-<time> (nothing is deleted), then %s to %s; seed its Litestream state at the replica's newest transaction",
		file, file, stagingName(file), file)})
	for _, w := range accessories {
		add(RecoveryStep{Name: "start-accessory", Host: w.host, Role: w.role, Container: w.container,
			Detail: "start " + w.container + " on the restored database"})
	}
	for _, w := range apps {
		add(RecoveryStep{Name: "start-app", Host: w.host, Role: w.role, Container: w.container, Detail: "start " + w.container})
		px := a.Roles[w.role].Proxy
		add(RecoveryStep{Name: "gate", Host: w.host, Role: w.role, Container: w.container,
			Detail: "wait for " + orDefault(px.Health.Path, health.DefaultPath) + " to pass"})
	}
	for _, role := range a.roleNames() {
		if a.Roles[role].Proxy == nil {
			continue
		}
		for _, srv := range a.Roles[role].Servers {
			add(RecoveryStep{Name: "live", Host: srv.Host, Role: role, Detail: "kamal-proxy serves " + ProxyService(a, role) + " again"})
		}
	}
	for _, w := range workers {
		add(RecoveryStep{Name: "start-workers", Host: w.host, Role: w.role, Container: w.container, Detail: "start " + w.container})
	}
	add(RecoveryStep{Name: "replica", Host: "(local)", Detail: fmt.Sprintf("wait for a write after the recovery to reach %s: replication continues from the restored database", p.Replica)})
	return p, nil
}

// currentContainer is the container of role on host a recovery starts on
// the restored database: the running one; else the one kamal-proxy
// routes the role to; else the newest.
func currentContainer(a App, state State, host, role string) (Container, bool) {
	cs := state.Containers(a, host, role)
	for _, c := range cs {
		if c.Running {
			return c, true
		}
	}
	if px := state.Hosts[host].Proxy; px != nil {
		target, _, _ := strings.Cut(px.Services[ProxyService(a, role)], ":")
		for _, c := range cs {
			if c.Name == target {
				return c, true
			}
		}
	}
	if len(cs) > 0 {
		return cs[0], true
	}
	return Container{}, false
}

// mountsVolume reports whether volumes ("name:/path[:ro]") mount volume.
func mountsVolume(volumes []string, volume string) bool {
	for _, v := range volumes {
		if name, _, _ := strings.Cut(v, ":"); name == volume {
			return true
		}
	}
	return false
}

// volumeOf finds the app volume mounted over db's directory.
func volumeOf(volumes []string, db string) (volume, file string, err error) {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			continue
		}
		mount := strings.TrimSuffix(parts[1], "/")
		if path.Dir(db) == mount {
			return parts[0], path.Base(db), nil
		}
	}
	return "", "", fmt.Errorf("recovery: no volume of the app is mounted at %s, the directory of %s; add one to App.Volumes", path.Dir(db), db)
}

// RecoveryReport is what a recovery did.
type RecoveryReport struct {
	Plan     RecoveryPlan
	Restored replicate.Position
	// Aside is where the damaged database now is on the host; "" when
	// there was no file to move.
	Aside string
	// Duration is the whole recovery; Restore the restore and integrity
	// check before the downtime; Downtime the maintenance window, from
	// the first request turned away to traffic flowing again.
	Duration, Restore, Downtime time.Duration
	// CaughtUp reports whether the replica moved on while the app ran and
	// its newest state was restored again inside the downtime.
	CaughtUp bool
	// Continued is the replica's newest position after the recovery: a
	// write made on the restored database.
	Continued replicate.Position
}

// Recover runs the recovery runbook. Before any downtime it restores
// the replica (its newest state, or its state at r.At) into a staging
// file, checks its integrity and stages it beside the database with the
// original's owner and mode. Then it
// takes the app down for the swap only: maintenance for web roles, and
// every container that mounts the database's volume (the app, workers, a
// replication sidecar) stops; when the replica moved on meanwhile (and
// r.At is zero) its newest state is restored again; the damaged
// database, its -wal, -shm and Litestream state move aside under
// timestamped names (never deleted); the staged file takes its place,
// with Litestream state that continues the replica from its newest
// transaction; the containers
// start again, pass the health gate and go live. Last, it
// waits for a write on the restored database to reach the replica, so
// replication is known to continue from the restored position.
//
// It works whether or not the app ran when it started. Every step is
// audited; a failure stops there, the error says where things stand, and
// running the recovery again completes it.
func (s *Session) Recover(ctx context.Context, r Recovery) (_ *RecoveryReport, err error) {
	defer s.redactErr(&err)
	start := time.Now()
	if err := s.checkAndLock(ctx, "recover"); err != nil {
		return nil, err
	}
	defer func() { err = s.releaseAfter(ctx, err) }() // a lock left held is reported
	p, err := s.PlanRecovery(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := s.learnSecrets(ctx, p.replica); err != nil {
		return nil, err
	}
	s.out.linef("%s", strings.TrimRight(p.String(), "\n"))
	rep := &RecoveryReport{Plan: p}
	audit := &auditLog{}
	defer s.writeAudit(context.WithoutCancel(ctx), audit)
	mount, err := s.hosts[p.Host].engine.VolumeMountpoint(ctx, p.Volume)
	if err != nil {
		return rep, fmt.Errorf("recovery: %w", err)
	}
	tmp, err := os.MkdirTemp("", "slipway-recover")
	if err != nil {
		return rep, fmt.Errorf("recovery: staging directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	run := &recoverRun{r: r, p: p, rep: rep, mount: mount, tmp: tmp,
		stamp: "damaged-" + time.Now().UTC().Format("20060102T150405.000Z")}

	var downFrom, downTo time.Time
	for i, st := range p.Steps {
		t0 := time.Now()
		if st.downtime() && downFrom.IsZero() {
			downFrom = t0
		}
		err := s.recoverStep(ctx, run, st)
		if st.downtime() {
			downTo = time.Now()
		}
		if st.Name == "restore" {
			rep.Restore = time.Since(t0)
		}
		s.record(audit, stepLine{host: st.Host, role: st.Role, step: "recover-" + st.Name, container: st.Container, detail: st.Detail, start: t0, err: err})
		if err != nil {
			return rep, fmt.Errorf("recovery stopped at step %d (%s on %s): %w\n%s", i+1, st.Name, st.Host, err, standingAfter(p, i, rep.Aside))
		}
	}
	rep.Downtime = downTo.Sub(downFrom)
	rep.Duration = time.Since(start)
	kept := "there was no damaged file to keep"
	if rep.Aside != "" {
		kept = "the damaged database is kept at " + rep.Aside
	}
	s.out.linef("recovered %s on %s in %s: restore %s before the downtime, downtime %s (maintenance window); replication continues at txid %d; %s",
		p.File, p.Host, seconds(rep.Duration), seconds(rep.Restore), seconds(rep.Downtime), rep.Continued.TXID, kept)
	return rep, nil
}

// recoverRun is what the steps of one recovery share.
type recoverRun struct {
	r     Recovery
	p     RecoveryPlan
	rep   *RecoveryReport
	mount string // the volume's directory on the host
	tmp   string // this machine's staging directory
	stamp string // the suffix of the names things are moved aside to
	n     int    // restores made so far
	// before is the replica's newest transaction at the swap: the
	// replica must move past it afterwards.
	before uint64
}

// standingAfter tells where a recovery that failed at step i leaves
// things, and how to go on or back.
func standingAfter(p RecoveryPlan, i int, aside string) string {
	done := map[string]bool{}
	for _, st := range p.Steps[:i] {
		done[st.Name] = true
	}
	var lines []string
	if done["maintenance"] && !done["live"] {
		lines = append(lines, "web roles are in maintenance (users get the 503 page); `app:live` serves traffic again")
	}
	if (done["stop-app"] || done["stop-workers"] || done["stop-accessory"]) && !done["start-workers"] {
		lines = append(lines, "some of the app's containers are stopped")
	}
	if done["swap"] {
		lines = append(lines, "the restored database is in place")
		if aside != "" {
			lines = append(lines, fmt.Sprintf("the damaged database is at %s on %s; to undo, stop the app and move it back to its name", aside, p.Host))
		}
	} else if done["stage"] {
		lines = append(lines, fmt.Sprintf("the damaged database is untouched; the restored one waits at %s beside it", stagingName(p.File)))
	}
	lines = append(lines, "fix the cause and run the recovery again: it completes from any step")
	return "where things stand: " + strings.Join(lines, "; ")
}

func (s *Session) recoverStep(ctx context.Context, run *recoverRun, st RecoveryStep) error {
	a := s.app
	switch st.Name {
	case "restore":
		return s.restoreStaged(ctx, run)
	case "stage":
		return s.stage(ctx, run)
	case "maintenance":
		return proxy.Stop(ctx, s.hosts[st.Host].engine, proxy.DefaultContainer, ProxyService(a, st.Role),
			orDefault(run.r.Message, DefaultMaintenanceMessage), 0)
	case "live":
		return proxy.Resume(ctx, s.hosts[st.Host].engine, proxy.DefaultContainer, ProxyService(a, st.Role))
	case "stop-workers", "stop-app", "stop-accessory":
		return s.hosts[st.Host].engine.Stop(ctx, st.Container, s.app.stopTimeout(st.Role))
	case "start-workers", "start-app", "start-accessory":
		return s.hosts[st.Host].engine.Start(ctx, st.Container)
	case "catch-up":
		newest, err := replicaNewest(ctx, run.p.replica)
		if err != nil {
			return err
		}
		if newest.TXID <= run.rep.Restored.TXID {
			return nil
		}
		s.out.linef("the replica moved on from txid %d to %d while the app ran: restoring its newest state again", run.rep.Restored.TXID, newest.TXID)
		run.rep.CaughtUp = true
		if err := s.restoreStaged(ctx, run); err != nil {
			return err
		}
		return s.stage(ctx, run)
	case "swap":
		return s.swap(ctx, run)
	case "gate":
		px := a.Roles[st.Role].Proxy
		gate := px.Health
		gate.Port = px.appPort()
		h := s.hosts[st.Host]
		target := health.Container(s.healthHost(h, a.network()), st.Container, px.appPort())
		if _, err := health.Wait(ctx, gate, target); err != nil {
			return fmt.Errorf("%s did not become healthy on the restored database: %w\n%s", st.Container, err,
				s.diagnose(context.WithoutCancel(ctx), h, st.Container))
		}
		return nil
	case "replica":
		return s.awaitContinue(ctx, run)
	}
	return fmt.Errorf("unknown recovery step %q", st.Name)
}

// restoreStaged restores the replica into a new file in this machine's
// staging directory and checks its integrity.
func (s *Session) restoreStaged(ctx context.Context, run *recoverRun) error {
	run.n++
	out := filepath.Join(run.tmp, strconv.Itoa(run.n), run.p.File)
	pos, err := replicate.Restore(ctx, run.p.replica, out, run.r.At)
	if err != nil {
		return err
	}
	run.rep.Restored = pos
	if err := replicate.CheckIntegrity(ctx, out); err != nil {
		return fmt.Errorf("the restored database: %w; nothing was put in place", err)
	}
	return nil
}

// stage uploads the newest local restore to the staging name beside the
// database; a new staged file takes the database's owner and mode (the
// upload never follows a link).
func (s *Session) stage(ctx context.Context, run *recoverRun) error {
	f, err := os.Open(filepath.Join(run.tmp, strconv.Itoa(run.n), run.p.File))
	if err != nil {
		return err
	}
	defer f.Close()
	return s.hosts[run.p.Host].ssh.UploadLike(ctx, path.Join(run.mount, stagingName(run.p.File)), run.p.File, 0o644, f)
}

// swap moves the damaged database and everything beside it that
// describes it (its WAL, shared memory and Litestream state) aside, then
// renames the staged restore into its place. Nothing is deleted or
// overwritten: an aside name that exists stops the swap.
func (s *Session) swap(ctx context.Context, run *recoverRun) error {
	// Every replicator of the database is stopped: the replica's newest
	// transaction now is the one it must move past afterwards.
	newest, err := replicaNewest(ctx, run.p.replica)
	if err != nil {
		return err
	}
	run.before = newest.TXID
	file := run.p.File
	var b strings.Builder
	fmt.Fprintf(&b, "set -e; cd %s; ", ssh.Quote(run.mount))
	staged := ssh.Quote(stagingName(file))
	fmt.Fprintf(&b, "if [ -L %s ] || [ ! -f %s ]; then echo 'no restored database is staged at %s: run the recovery again' >&2; exit 1; fi; ", staged, staged, stagingName(file))
	for _, f := range []string{file, file + "-wal", file + "-shm", replicate.StateDir(file)} {
		q, aside := ssh.Quote(f), ssh.Quote(f+"."+run.stamp)
		fmt.Fprintf(&b, "if [ -e %s ] || [ -L %s ]; then if [ -e %s ]; then echo '%s exists' >&2; exit 1; fi; mv %s %s; echo %s; fi; ",
			q, q, aside, f+"."+run.stamp, q, aside, q)
	}
	fmt.Fprintf(&b, "mv %s %s", staged, ssh.Quote(file))
	h := s.hosts[run.p.Host]
	res, err := h.ssh.Run(ctx, b.String(), nil)
	if err != nil {
		return err
	}
	for _, moved := range strings.Fields(string(res.Stdout)) {
		if moved == file {
			run.rep.Aside = path.Join(run.mount, file+"."+run.stamp)
		}
	}
	if run.before == 0 {
		return nil // an empty replica: the replicator starts it afresh
	}
	seed, err := replicate.ContinuationSeed(filepath.Join(run.tmp, strconv.Itoa(run.n), file), run.before)
	if err != nil {
		return fmt.Errorf("seed the replication state of the restored database: %w", err)
	}
	dest := path.Join(run.mount, seed.Name) // in the state directory the swap just emptied
	if err := h.ssh.Upload(ctx, dest, 0o644, bytes.NewReader(seed.Data)); err != nil {
		return fmt.Errorf("seed the replication state of the restored database: %w", err)
	}
	return nil
}

// awaitContinue waits until the replica holds a transaction newer than
// the one it held before the swap: the restarted replicator took the
// restored database as its own and ships its writes.
func (s *Session) awaitContinue(ctx context.Context, run *recoverRun) error {
	limit := orDefault(run.r.ContinueTimeout, DefaultContinueTimeout)
	deadline := time.Now().Add(limit)
	for {
		newest, err := replicaNewest(ctx, run.p.replica)
		if err == nil && newest.TXID > run.before {
			run.rep.Continued = newest
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("the replica was not readable after the recovery: %w", err)
			}
			return fmt.Errorf("no write reached %s within %s after the recovery (its newest transaction is still %d): the app or its sidecar is not replicating the restored database; see its logs (`mage logs`) and run `mage replica:verify`",
				run.p.Replica, limit, newest.TXID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// replicaNewest is the replica's newest position, whatever its age.
func replicaNewest(ctx context.Context, r replicate.Replica) (replicate.Position, error) {
	f, err := replicate.Verify(ctx, r, time.Duration(math.MaxInt64))
	if err != nil && !errors.Is(err, replicate.ErrStale) {
		return f.Newest, err
	}
	return f.Newest, nil
}
