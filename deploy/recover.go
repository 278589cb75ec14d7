package deploy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the integrity check opens the restored file

	"github.com/slipwayhq/slipway/deploy/proxy"
	"github.com/slipwayhq/slipway/deploy/ssh"
	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
)

// Recovery says which database to bring back, from where, and to when:
// the runbook for suspected corruption or data loss, as code.
type Recovery struct {
	// Replica is the database's replica, as this machine reaches it. Its
	// DB is the database's path inside the app's containers, such as
	// /data/hello.db; the App volume mounted over that path holds it.
	Replica replicate.Replica
	// Host holds the database; "" means the primary host.
	Host string
	// At restores the state at this time, such as just before a bad
	// write; zero means the newest replicated state.
	At time.Time
	// Message is what users read while the app is in maintenance.
	Message string
}

// RecoverStep is one step of a recovery, on one host.
type RecoverStep struct {
	Name string // maintenance, stop-workers, stop-app, move-aside, restore, upload, start-app, gate, live, start-workers
	Host string // "(local)" for steps on this machine
	Role string
	// Container is the container a stop or start step acts on.
	Container string
	Detail    string
}

// RecoverPlan is a recovery's steps, in order. Print it for a dry run or
// the team's incident notes.
type RecoverPlan struct {
	Service  string
	Host     string
	Volume   string // the volume that holds the database
	File     string // the database's file name in the volume
	Replica  string
	At       time.Time
	Steps    []RecoverStep
	restarts map[string][]string // host -> containers stopped, to start again
}

// String prints the plan a person follows, step by step.
func (p RecoverPlan) String() string {
	var b strings.Builder
	to := "the newest replicated state"
	if !p.At.IsZero() {
		to = "its state at " + p.At.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(&b, "Recover %s's database %s on %s (volume %s) from %s, to %s\n", p.Service, p.File, p.Host, p.Volume, p.Replica, to)
	for i, st := range p.Steps {
		fmt.Fprintf(&b, "%2d. %-15s %-8s %-14s %s\n", i+1, st.Host, st.Role, st.Name, st.Detail)
	}
	return b.String()
}

// PlanRecovery observes the hosts and returns the steps Recover would
// take, changing nothing.
func (s *Session) PlanRecovery(ctx context.Context, r Recovery) (_ RecoverPlan, err error) {
	defer s.redactErr(&err)
	a := s.app
	if err := r.Replica.Validate(); err != nil {
		return RecoverPlan{}, fmt.Errorf("recovery: %w", err)
	}
	host := orDefault(r.Host, a.PrimaryHost())
	if _, ok := s.hosts[host]; !ok {
		return RecoverPlan{}, fmt.Errorf("recovery: host %s is not one of the app's hosts (%s)", host, strings.Join(a.HostNames(), ", "))
	}
	volume, file, err := volumeOf(a.Volumes, r.Replica.DB)
	if err != nil {
		return RecoverPlan{}, err
	}
	state, err := s.Observe(ctx)
	if err != nil {
		return RecoverPlan{}, err
	}
	p := RecoverPlan{Service: a.Service, Host: host, Volume: volume, File: file, Replica: r.Replica.String(), At: r.At,
		restarts: map[string][]string{}}
	add := func(name, host, role, detail string) {
		p.Steps = append(p.Steps, RecoverStep{Name: name, Host: host, Role: role, Detail: detail})
	}
	var workers []RecoverStep
	for _, role := range a.roleNames() {
		r := a.Roles[role]
		for _, srv := range r.Servers {
			if r.Proxy != nil {
				add("maintenance", srv.Host, role, "kamal-proxy answers "+ProxyService(a, role)+" with a 503 page")
				continue
			}
			for _, c := range state.Versions(a, srv.Host, role) {
				if c.Running {
					workers = append(workers, RecoverStep{Name: "stop-workers", Host: srv.Host, Role: role, Container: c.Name, Detail: "stop " + c.Name})
					p.restarts[srv.Host] = append(p.restarts[srv.Host], c.Name)
				}
			}
		}
	}
	p.Steps = append(p.Steps, workers...)
	var apps []string
	for _, role := range a.rolesOn(host) {
		if a.Roles[role].Proxy == nil {
			continue // a worker on this host was stopped above
		}
		for _, c := range state.Versions(a, host, role) {
			if c.Running {
				p.Steps = append(p.Steps, RecoverStep{Name: "stop-app", Host: host, Role: role, Container: c.Name,
					Detail: "stop " + c.Name + ", the database's writer"})
				apps = append(apps, c.Name)
			}
		}
	}
	add("move-aside", host, "", fmt.Sprintf("rename %s (and its -wal, -shm, Litestream state) to %s.damaged-<time>; nothing is deleted", file, file))
	add("restore", "(local)", "", fmt.Sprintf("restore %s to a temporary file, then PRAGMA integrity_check must say ok", p.Replica))
	add("upload", host, "", fmt.Sprintf("write the restored database to %s in volume %s", file, volume))
	for _, name := range apps {
		p.Steps = append(p.Steps, RecoverStep{Name: "start-app", Host: host, Container: name, Detail: "start " + name})
	}
	for _, role := range a.rolesOn(host) {
		if a.Roles[role].Proxy != nil {
			add("gate", host, role, "wait for "+orDefault(a.Roles[role].Proxy.Health.Path, health.DefaultPath)+" to pass")
		}
	}
	for _, role := range a.roleNames() {
		if a.Roles[role].Proxy == nil {
			continue
		}
		for _, srv := range a.Roles[role].Servers {
			add("live", srv.Host, role, "kamal-proxy serves "+ProxyService(a, role)+" again")
		}
	}
	for _, w := range workers {
		w.Name, w.Detail = "start-workers", "start "+w.Container
		p.Steps = append(p.Steps, w)
	}
	p.restarts[host] = append(p.restarts[host], apps...)
	return p, nil
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

// RecoverReport is what a recovery did.
type RecoverReport struct {
	Plan     RecoverPlan
	Restored replicate.Position
	// Aside is where the damaged database now is on the host.
	Aside    string
	Duration time.Duration
}

// Recover runs the recovery runbook: stop writes (maintenance for web
// roles, stop workers), move the damaged database aside under a
// timestamped name (never deleting it), restore the replica's newest
// state or its state at r.At, check its integrity, put it in place,
// start the app on it, pass the health gate, and go live. Every step is
// audited; a failure stops there and the error says where things stand
// and how to continue or undo.
func (s *Session) Recover(ctx context.Context, r Recovery) (_ *RecoverReport, err error) {
	defer s.redactErr(&err)
	start := time.Now()
	if err := s.Lock(ctx, "recover"); err != nil {
		return nil, err
	}
	defer func() { err = s.releaseAfter(ctx, err) }() // a lock left held is reported
	p, err := s.PlanRecovery(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := s.learnSecrets(ctx, r.Replica); err != nil {
		return nil, err
	}
	s.out.linef("%s", strings.TrimRight(p.String(), "\n"))
	rep := &RecoverReport{Plan: p}
	audit := &auditLog{}
	defer s.writeAudit(ctx, audit)
	h := s.hosts[p.Host]
	mount, err := h.engine.VolumeMountpoint(ctx, p.Volume)
	if err != nil {
		return rep, fmt.Errorf("recovery: %w", err)
	}
	stamp := "damaged-" + time.Now().UTC().Format("20060102T150405Z")
	rep.Aside = filepath.Join(mount, p.File+"."+stamp)
	tmp, err := os.MkdirTemp("", "slipway-recover")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(tmp)
	restored := filepath.Join(tmp, p.File)

	for i, st := range p.Steps {
		t0 := time.Now()
		err := s.recoverStep(ctx, r, p, st, mount, stamp, restored, rep)
		host := st.Host
		s.record(audit, host, st.Role, "recover-"+st.Name, "", "", st.Detail, t0, err)
		if err != nil {
			return rep, fmt.Errorf("recovery stopped at step %d (%s on %s): %w\n%s", i+1, st.Name, host, err, standingAfter(p, i, rep.Aside))
		}
	}
	rep.Duration = time.Since(start)
	s.out.linef("recovered %s on %s in %s; the damaged database is kept at %s", p.File, p.Host, seconds(rep.Duration), rep.Aside)
	return rep, nil
}

// standingAfter tells where a recovery that failed at step i leaves
// things, and how to go on or back.
func standingAfter(p RecoverPlan, i int, aside string) string {
	done := map[string]bool{}
	for _, st := range p.Steps[:i] {
		done[st.Name] = true
	}
	var lines []string
	if done["maintenance"] {
		lines = append(lines, "web roles are in maintenance (users get the 503 page); `app:live` serves traffic again")
	}
	if done["stop-app"] || done["stop-workers"] {
		lines = append(lines, "the app's containers on the affected hosts are stopped; start them with the engine or a rollback")
	}
	if done["move-aside"] {
		lines = append(lines, fmt.Sprintf("the damaged database is at %s on %s; to undo, move it back to its name", aside, p.Host))
	}
	lines = append(lines, "fix the cause and run the recovery again: each step is safe to repeat")
	return "where things stand: " + strings.Join(lines, "; ")
}

func (s *Session) recoverStep(ctx context.Context, r Recovery, p RecoverPlan, st RecoverStep, mount, stamp, restored string, rep *RecoverReport) error {
	a := s.app
	switch st.Name {
	case "maintenance":
		return proxy.Stop(ctx, s.hosts[st.Host].engine, proxy.DefaultContainer, ProxyService(a, st.Role),
			orDefault(r.Message, DefaultMaintenanceMessage), 0)
	case "live":
		return proxy.Resume(ctx, s.hosts[st.Host].engine, proxy.DefaultContainer, ProxyService(a, st.Role))
	case "stop-workers", "stop-app":
		return s.hosts[st.Host].engine.Stop(ctx, st.Container, DefaultStopTimeout)
	case "start-workers", "start-app":
		return s.hosts[st.Host].engine.Start(ctx, st.Container)
	case "move-aside":
		var cmds []string
		for _, f := range []string{p.File, p.File + "-wal", p.File + "-shm", "." + p.File + "-litestream"} {
			q := ssh.Quote(f)
			cmds = append(cmds, fmt.Sprintf("if [ -e %s ]; then mv %s %s; fi", q, q, ssh.Quote(f+"."+stamp)))
		}
		script := "cd " + ssh.Quote(mount) + " && " + strings.Join(cmds, " && ")
		_, err := s.hosts[st.Host].ssh.Run(ctx, script, nil)
		return err
	case "restore":
		pos, err := replicate.Restore(ctx, r.Replica, restored, r.At)
		if err != nil {
			return err
		}
		rep.Restored = pos
		return integrityCheck(ctx, restored)
	case "upload":
		f, err := os.Open(restored)
		if err != nil {
			return err
		}
		defer f.Close()
		// The restored file takes the owner and mode of the one moved aside.
		return s.hosts[st.Host].ssh.UploadLike(ctx, path.Join(mount, p.File), p.File+"."+stamp, 0o644, f)
	case "gate":
		px := a.Roles[st.Role].Proxy
		gate := px.Health
		gate.Port = px.appPort()
		h := s.hosts[st.Host]
		name := ""
		for _, c := range p.restarts[st.Host] {
			if strings.HasPrefix(c, ProxyService(a, st.Role)+"-") {
				name = c
			}
		}
		if name == "" {
			return errors.New("no app container of this role was running before the recovery")
		}
		target := health.Container(s.healthHost(h, a.network()), name, px.appPort())
		if _, err := health.Wait(ctx, gate, target); err != nil {
			return &BootError{Host: h.name, Container: name, Err: err, Diagnostics: s.diagnose(context.WithoutCancel(ctx), h, name)}
		}
		return nil
	}
	return fmt.Errorf("unknown recovery step %q", st.Name)
}

// integrityCheck runs PRAGMA integrity_check on a database file.
func integrityCheck(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("integrity check of the restored database: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check of the restored database says %q, not ok; the damaged database stays aside, nothing was put in place", res)
	}
	return nil
}
