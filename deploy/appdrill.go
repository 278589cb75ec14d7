package deploy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipwayhq/slipway/health"
	"github.com/slipwayhq/slipway/replicate"
)

// SmokeCheck is one HTTP request a recovered app must answer as expected.
type SmokeCheck struct {
	Path   string // such as "/" or "/orders/1"
	Status int    // 0 means 200
	Body   string // a substring the body must contain; "" checks none
}

// AppDrillOptions say how Session.DrillApp runs a whole-app recovery
// drill: the monthly proof that the app comes back from its replica. It restores the replica into a disposable
// volume on a host, boots the current release's image against it with no
// proxy route (users never see it), passes the role's health check and
// the smoke checks, then tears it all down and records the whole-app RTO
// and the data at risk.
//
// The copy never gets the replica's credentials nor the env that turns
// embedded replication on (replicate.ReplicationEnvPrefixes), so it cannot write the
// production replica or take its lease.
type AppDrillOptions struct {
	// Database names the App.Databases entry to drill; "" means the only
	// one with a replica. It is read when Replica is left zero.
	Database string
	// Replica is the database's replica, as this machine reaches it; its
	// DB is the path inside the app's containers. Zero means the declared
	// Database's replica.
	Replica replicate.Replica
	// Host runs the disposable copy; "" means the app's last host, away
	// from the primary's load.
	Host string
	// Role whose image, command and env the copy runs; "" means the
	// primary role, which must have a Proxy (its port and health path).
	Role string
	// Smoke are the checks after the health check passes.
	Smoke []SmokeCheck
	// DropEnv are env names the copy does not get, beyond the replica's,
	// which it never gets.
	DropEnv []string
	// Log is the drill log the report is appended to, beside the
	// database drills; "" means none.
	Log string
}

// SmokeResult is one SmokeCheck's outcome. In the drill log it is one
// string, "GET /path: ok" or "GET /path: <problem>", as a person reads it.
type SmokeResult struct {
	Path    string // the SmokeCheck's Path
	Passed  bool   // the answer was as expected
	Problem string // why not: the request's error, or what differed
}

// String is "GET /path: ok" or "GET /path: <problem>".
func (r SmokeResult) String() string {
	if r.Passed {
		return "GET " + r.Path + ": ok"
	}
	return "GET " + r.Path + ": " + r.Problem
}

// MarshalText writes String, keeping the drill log's line as it was.
func (r SmokeResult) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a line MarshalText wrote, for a drill log read back.
func (r *SmokeResult) UnmarshalText(b []byte) error {
	path, outcome, ok := strings.Cut(strings.TrimPrefix(string(b), "GET "), ": ")
	if !ok {
		return fmt.Errorf("smoke result %q: want \"GET /path: outcome\"", b)
	}
	*r = SmokeResult{Path: path, Passed: outcome == "ok"}
	if !r.Passed {
		r.Problem = outcome
	}
	return nil
}

// AppDrillReport is what a whole-app drill found; it is also one line of
// the drill log (Kind "app").
type AppDrillReport struct {
	Kind     string             `json:"kind"` // "app"
	Service  string             `json:"service"`
	Host     string             `json:"host"`
	Version  string             `json:"version"`
	Replica  string             `json:"replica"`
	Started  time.Time          `json:"started"`
	Restored replicate.Position `json:"restored"`
	// RTO is the whole recovery: from the start to the smoke checks passing.
	RTO time.Duration `json:"rto"`
	// RPO is the data at risk as a time (Risk.Age): how long the oldest
	// commit on the database's host not yet in the replica had waited;
	// 0 when the replica held every commit.
	RPO time.Duration `json:"rpo"`
	// Risk is the data at risk when the drill started: the commits on
	// the database's host not yet in the replica, and their age. Zero
	// when the host's Litestream state could not be read (RiskError).
	Risk      replicate.Risk `json:"risk,omitzero"`
	RiskError string         `json:"risk_error,omitempty"`
	// Age is the restored state's age when the drill started: it grows
	// while the app is idle, so it is not a data-loss figure.
	Age     time.Duration `json:"age"`
	Restore time.Duration `json:"restore"` // of which: restore and integrity check
	Boot    time.Duration `json:"boot"`    // of which: boot to /up passing
	Smoke   []SmokeResult `json:"smoke"`   // each check's outcome
	Passed  bool          `json:"passed"`
	Error   string        `json:"error,omitempty"`
}

// replicaEnv lists the env names that carry a replica to the app's
// containers: the credential names of r and of every declared replica,
// and the env embedded replication gives each declared database.
func (a App) replicaEnv(r replicate.Replica) []string {
	names := r.SecretNames()
	for _, d := range a.Databases {
		names = append(names, replicate.EnvNames(d.name())...)
		if d.Replica != nil {
			names = append(names, d.Replica.SecretNames()...)
		}
	}
	return names
}

// drillCopyEnv is the env of a drill's copy of role: the role's own,
// without the replica's credentials, the env of embedded replication
// (replicate.ReplicationEnvPrefixes) and the names in drop. The role's
// env is the primary host's, whose container the drill takes the
// release from.
func (a App) drillCopyEnv(role string, r replicate.Replica, drop []string) (map[string]string, []string) {
	env, secrets := a.envFor(role, a.PrimaryHost())
	names := a.replicaEnv(r)
	prefixes := replicate.ReplicationEnvPrefixes()
	gone := func(n string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(n, p) }) ||
			slices.Contains(drop, n) || slices.Contains(names, n)
	}
	for k := range env {
		if gone(k) {
			delete(env, k)
		}
	}
	return env, slices.DeleteFunc(secrets, gone)
}

// DrillApp runs a whole-app recovery drill and tears down what it made,
// whether it passed or not.
func (s *Session) DrillApp(ctx context.Context, d AppDrillOptions) (_ AppDrillReport, err error) {
	defer s.redactErr(&err)
	a := s.app
	rep := AppDrillReport{Kind: "app", Service: a.Service, Started: time.Now().UTC()}
	err = s.drillApp(ctx, d, &rep)
	rep.Passed = err == nil
	if err != nil {
		rep.Error = s.Redact(firstLine(err.Error()))
	}
	if d.Log != "" {
		if lerr := replicate.AppendDrillLog(d.Log, rep); lerr != nil && err == nil {
			err = lerr
		}
	}
	PrintAppDrills(s.out, rep)
	return rep, err
}

func (s *Session) drillApp(ctx context.Context, d AppDrillOptions, rep *AppDrillReport) error {
	a := s.app
	start := time.Now()
	role := orDefault(d.Role, a.primaryRole())
	px := a.Roles[role].Proxy
	if px == nil {
		return fmt.Errorf("app drill: role %s has no proxy: name a web role, whose port and health path the drill uses", role)
	}
	hosts := a.HostNames()
	host := orDefault(d.Host, hosts[len(hosts)-1])
	h, ok := s.hosts[host]
	if !ok {
		return fmt.Errorf("app drill: host %s is not one of the app's hosts (%s)", host, strings.Join(hosts, ", "))
	}
	rep.Host = host
	replica, dbHost, err := a.recoveryDatabase(Recovery{Database: d.Database, Replica: d.Replica})
	if err != nil {
		return fmt.Errorf("app drill: %w", err)
	}
	rep.Replica = replica.String()
	if err := s.learnSecrets(ctx, replica); err != nil {
		return err
	}
	volume, file, err := volumeOf(a.Volumes, replica.DB)
	if err != nil {
		return err
	}
	live := s.liveTransactions(ctx, dbHost, replica)

	// The current release: the role's running container on the primary host.
	state, err := s.Observe(ctx)
	if err != nil {
		return err
	}
	var current Container
	for _, c := range state.Containers(a, a.PrimaryHost(), role) {
		if c.Running {
			current = c
			break
		}
	}
	if current.Name == "" {
		return fmt.Errorf("app drill: no %s container runs on %s to take the release from", role, a.PrimaryHost())
	}
	rep.Version = current.Version
	imageRef := Release{Version: current.Version}.ImageRef(a)

	// Restore and check the database on this machine.
	t0 := time.Now()
	tmp, err := os.MkdirTemp("", "slipway-appdrill")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	restored := filepath.Join(tmp, file)
	pos, err := replicate.Restore(ctx, replica, restored, time.Time{})
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	rep.Restored, rep.Age = pos, max(rep.Started.Sub(pos.Time), 0)
	risk, err := s.liveRisk(live, pos.TXID, rep.Started)
	if err != nil {
		rep.RiskError = err.Error()
	} else {
		rep.Risk, rep.RPO = risk, risk.Age
	}
	if err := replicate.CheckIntegrity(ctx, restored); err != nil {
		return fmt.Errorf("app drill: the restored database: %w", err)
	}
	rep.Restore = time.Since(t0)

	// A disposable volume and container, with no proxy route.
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	drillVol := volume + "-drill-" + stamp
	name := ContainerName(a, role, "drill-"+stamp)
	bg := context.WithoutCancel(ctx)
	defer h.engine.VolumeRemove(bg, drillVol, true)
	defer h.engine.Remove(bg, name, true)
	if err := h.engine.VolumeEnsure(ctx, drillVol, map[string]string{"slipway.drill": a.Service}); err != nil {
		return err
	}
	mount, err := h.engine.VolumeMountpoint(ctx, drillVol)
	if err != nil {
		return err
	}
	f, err := os.Open(restored)
	if err != nil {
		return err
	}
	err = h.ssh.Upload(ctx, path.Join(mount, file), 0o644, f)
	f.Close()
	if err != nil {
		return err
	}
	st := Step{Kind: StepStart, Host: host, Role: role, Container: name, Image: imageRef, Cmd: a.Roles[role].Cmd}
	st.Env, st.Secrets = a.drillCopyEnv(role, replica, d.DropEnv)
	spec := s.containerSpec(Plan{Version: current.Version}, st)
	spec.Labels = map[string]string{"slipway.drill": a.Service}
	spec.Restart = "no"
	spec.Volumes = nil
	for _, v := range a.Volumes {
		if strings.HasPrefix(v, volume+":") {
			spec.Volumes = append(spec.Volumes, drillVol+strings.TrimPrefix(v, volume))
		}
	}
	t1 := time.Now()
	if _, err := h.engine.Create(ctx, spec); err != nil {
		return err
	}
	if err := h.engine.Start(ctx, name); err != nil {
		return err
	}
	gate := px.Health
	target := health.Container(s.healthHost(h, a.network()), name, px.appPort())
	if _, err := health.Wait(ctx, gate, target); err != nil {
		return &BootError{Host: host, Container: name, Err: err, Diagnostics: s.diagnose(bg, h, name)}
	}
	rep.Boot = time.Since(t1)

	// Smoke checks, through the host, to the container's own address.
	c, err := h.engine.Inspect(ctx, name)
	if err != nil {
		return err
	}
	base := "http://" + net.JoinHostPort(c.IP(a.network()), strconv.Itoa(px.appPort()))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return h.ssh.DialContext(ctx, "tcp", addr)
		},
		DisableKeepAlives: true,
	}}
	var failed []string
	for _, sc := range d.Smoke {
		res := smoke(ctx, client, base, sc)
		rep.Smoke = append(rep.Smoke, res)
		if !res.Passed {
			failed = append(failed, res.String())
		}
	}
	rep.RTO = time.Since(start)
	if len(failed) > 0 {
		return fmt.Errorf("smoke checks failed: %s", strings.Join(failed, "; "))
	}
	return nil
}

func smoke(ctx context.Context, client *http.Client, base string, sc SmokeCheck) SmokeResult {
	res := SmokeResult{Path: sc.Path}
	want := orDefault(sc.Status, http.StatusOK)
	req, err := http.NewRequestWithContext(ctx, "GET", base+sc.Path, nil)
	if err != nil {
		res.Problem = err.Error()
		return res
	}
	resp, err := client.Do(req)
	if err != nil {
		res.Problem = err.Error()
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode != want:
		res.Problem = fmt.Sprintf("status %d, want %d", resp.StatusCode, want)
	case sc.Body != "" && !strings.Contains(string(body), sc.Body):
		res.Problem = fmt.Sprintf("body lacks %q", sc.Body)
	default:
		res.Passed = true
	}
	return res
}

// PrintAppDrills prints whole-app drill reports as a table.
func PrintAppDrills(w io.Writer, reports ...AppDrillReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tSERVICE\tHOST\tVERSION\tRESULT\tRTO\tRESTORE\tBOOT\tAT RISK (RPO)\tREPLICA AGE\tSMOKE\tERROR")
	for _, r := range reports {
		result := "pass"
		if !r.Passed {
			result = "FAIL"
		}
		ok := 0
		for _, s := range r.Smoke {
			if s.Passed {
				ok++
			}
		}
		risk := "unknown"
		if r.RiskError == "" && r.Restored.TXID > 0 {
			risk = r.Risk.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", r.Started.Format("2006-01-02 15:04:05"), r.Service, r.Host,
			orDefault(r.Version, "-"), result, dround(r.RTO), dround(r.Restore), dround(r.Boot), risk, dround(r.Age), ok, len(r.Smoke), orDefault(r.Error, "-"))
	}
	return tw.Flush()
}

func dround(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}
