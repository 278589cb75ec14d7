package replicate

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/superfly/ltx"
)

// Query is a critical read a drill runs on the restored database, with
// the number of rows it must return.
type Query struct {
	// Name labels the query in the drill log and table.
	Name string
	// SQL is a read-only statement; every row it returns is counted.
	SQL string
	// MinRows and MaxRows bound the row count; MaxRows 0 means no upper
	// bound.
	MinRows, MaxRows int64
}

// DrillOptions say how a drill runs. The zero value restores the newest
// state into a temporary directory and records nothing.
type DrillOptions struct {
	// At restores the state at this time instead of the newest.
	At time.Time
	// Dir is where the restore goes; "" means a new temporary directory,
	// removed after the drill.
	Dir string
	// Queries run on the restored database after the integrity check.
	Queries []Query
	// Primary is the primary database's path, when this process can read
	// it (an embedded replica, or a drill on the app's host): its
	// Litestream state says which commits it holds that the replica does
	// not yet, the data at risk. Without it only the replica's age is known.
	Primary string
	// Log is a drill log to append the report to, one JSON line per
	// drill; "" means none.
	Log string
}

// DrillReport is what a drill found; it is also one line of the drill
// log. Durations are in the JSON as nanoseconds.
type DrillReport struct {
	Replica  string    `json:"replica"`     // the target, as Replica.String
	DB       string    `json:"db"`          // the primary's path
	Started  time.Time `json:"started"`     // when the drill began
	At       time.Time `json:"at,omitzero"` // the point in time asked for, if any
	Restored Position  `json:"restored"`    // the newest position restored
	// RTO is the restore's wall time.
	RTO time.Duration `json:"rto"`
	// RPO is the data at risk as a time: how long the oldest commit the
	// primary holds but the replica does not has waited (Risk.Age), 0
	// when the replica holds every commit. It is known only when the
	// primary's state was read (PrimaryKnown); it does not grow while the
	// app is idle.
	RPO          time.Duration `json:"rpo"`
	PrimaryKnown bool          `json:"primary_known"`
	// Risk is the data at risk: the commits on the primary not yet in the
	// replica, and their age.
	Risk Risk `json:"risk,omitzero"`
	// Age is the replica's age at the drill: the drill's start minus the
	// restored state's time. It grows while the app is idle, so it is
	// not a data-loss figure.
	Age time.Duration `json:"age"`
	// Objects and Downloaded are the replica objects the restore read
	// and their bytes; Size is the restored database's size.
	Objects    int           `json:"objects"`
	Downloaded int64         `json:"downloaded"`
	Size       int64         `json:"size"`
	Integrity  string        `json:"integrity"`         // PRAGMA integrity_check's answer
	Queries    []QueryResult `json:"queries,omitempty"` // each Query's outcome
	Passed     bool          `json:"passed"`            // the drill found nothing wrong
	Error      string        `json:"error,omitempty"`   // what failed, when it did
}

// QueryResult is one Query's outcome.
type QueryResult struct {
	Name   string `json:"name"`            // the Query's Name
	Rows   int64  `json:"rows"`            // rows it returned
	Passed bool   `json:"passed"`          // within bounds and without error
	Error  string `json:"error,omitempty"` // why not
}

// Drill restores the replica into a temporary place and proves the
// restore usable: PRAGMA integrity_check must say ok and every Query must
// return a row count within its bounds. It times the restore (RTO),
// measures the RPO, appends the report to the drill log and returns it;
// the error says what failed, naming the replica object at fault when one
// is missing or corrupt.
func Drill(ctx context.Context, r Replica, opts DrillOptions) (DrillReport, error) {
	rep := DrillReport{Replica: r.String(), DB: r.DB, Started: time.Now().UTC(), At: opts.At}
	err := drill(ctx, r, opts, &rep)
	rep.Passed = err == nil
	if err != nil {
		rep.Error = err.Error()
	}
	if opts.Log != "" {
		if lerr := AppendDrillLog(opts.Log, rep); lerr != nil {
			err = errors.Join(err, lerr)
		}
	}
	return rep, err
}

func drill(ctx context.Context, r Replica, opts DrillOptions, rep *DrillReport) error {
	client, err := r.client(ctx)
	if err != nil {
		return err
	}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "slipway-drill-"); err != nil {
			return fmt.Errorf("drill %s: %w", r, err)
		}
		defer os.RemoveAll(dir)
	}
	out := filepath.Join(dir, filepath.Base(r.DB))
	plan, err := litestream.CalcRestorePlan(ctx, client, 0, opts.At, quietLogger())
	if err == nil {
		rep.Objects = len(plan)
		for _, info := range plan {
			rep.Downloaded += info.Size
		}
	}
	start := time.Now()
	pos, err := restore(ctx, r, client, out, opts.At)
	rep.RTO = time.Since(start)
	if err != nil {
		return fmt.Errorf("drill: %w", err)
	}
	rep.Restored = pos
	if st, err := os.Stat(out); err == nil {
		rep.Size = st.Size()
	}
	rep.Age = max(rep.Started.Sub(pos.Time), 0)
	if opts.Primary != "" && opts.At.IsZero() {
		if risk, err := LocalRisk(opts.Primary, pos.TXID, rep.Started); err == nil {
			rep.SetRisk(risk)
		}
	}

	if err := CheckIntegrity(ctx, out); err != nil {
		ierr, ok := errors.AsType[*IntegrityError](err)
		if !ok {
			return fmt.Errorf("drill: %w", err)
		}
		// A restore that decoded but fails the check: name the replica
		// object at fault, when one is.
		rep.Integrity = ierr.Answer()
		return fmt.Errorf("drill: integrity_check on the database restored from %s says %q, not ok: %w", r, rep.Integrity, diagnose(ctx, r, client, plan, ierr))
	}
	rep.Integrity = "ok"
	db, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	if err != nil {
		return fmt.Errorf("drill: open restored %s: %w", out, err)
	}
	defer db.Close()
	var failed []string
	for _, q := range opts.Queries {
		res := QueryResult{Name: q.Name}
		res.Rows, err = countRows(ctx, db, q.SQL)
		switch {
		case err != nil:
			res.Error = err.Error()
		case res.Rows < q.MinRows || (q.MaxRows > 0 && res.Rows > q.MaxRows):
			res.Error = fmt.Sprintf("%d rows, want %s", res.Rows, bounds(q))
		default:
			res.Passed = true
		}
		if !res.Passed {
			failed = append(failed, fmt.Sprintf("query %q: %s", q.Name, res.Error))
		}
		rep.Queries = append(rep.Queries, res)
	}
	if len(failed) > 0 {
		return fmt.Errorf("drill %s: %s", r, strings.Join(failed, "; "))
	}
	return nil
}

func bounds(q Query) string {
	if q.MaxRows > 0 {
		return fmt.Sprintf("%d..%d", q.MinRows, q.MaxRows)
	}
	return fmt.Sprintf("at least %d", q.MinRows)
}

func countRows(ctx context.Context, db *sql.DB, query string) (int64, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// LTXHeaderSize is how many bytes of a transaction file a LiveState's
// Header returns. It stays exported for whoever reads a primary's state
// where this package cannot (deploy reads it over SSH with head -c).
const LTXHeaderSize = ltx.HeaderSize

// walHeaderSize is the size of a SQLite WAL file's header; LiveState.WAL
// is asked for it, so callers need not know it.
const walHeaderSize = litestream.WALHeaderSize

// ErrReplicatorBehind means the primary's Litestream state is behind its
// replica: the process replicating it started a history of its own, and
// its writes do not reach the replica as its continuation.
var ErrReplicatorBehind = errors.New("the database's replicator is behind its replica")

// Risk is the data at risk when a drill starts: what the primary
// database holds that its replica does not, read from the primary's
// Litestream state (the transaction files and the WAL beside it).
type Risk struct {
	// PrimaryTXID is the primary's newest transaction Litestream has seen.
	PrimaryTXID uint64 `json:"primary_txid"`
	// Replicated is the replica's newest transaction.
	Replicated uint64 `json:"replicated_txid"`
	// Commits are the transactions Litestream has taken from the WAL but
	// not shipped to the replica.
	Commits uint64 `json:"commits"`
	// PendingWAL is how many bytes of WAL Litestream has not taken yet:
	// commits no replicator has seen, normally less than a sync
	// interval's worth; it grows while the replicator is down.
	PendingWAL int64 `json:"pending_wal,omitempty"`
	// Oldest is when the oldest data at risk was committed, or for WAL
	// alone the last time Litestream took from the WAL (it is newer than
	// that); zero when nothing is at risk.
	Oldest time.Time `json:"oldest,omitzero"`
	// Age is how long the oldest data at risk has waited at the drill
	// (for WAL alone, at most that): the window of writes lost were the
	// host to die then; 0 when nothing is at risk.
	Age time.Duration `json:"age"`
}

// String is a short line a person reads, such as "3 commits, 1.2s".
func (r Risk) String() string {
	var parts []string
	if r.Commits > 0 {
		parts = append(parts, fmt.Sprintf("%d commits", r.Commits))
	}
	if r.PendingWAL > 0 {
		parts = append(parts, size(r.PendingWAL)+" of WAL")
	}
	if len(parts) == 0 {
		return "0 commits"
	}
	age := r.Age.Round(time.Millisecond).String()
	if r.Commits == 0 {
		age = "up to " + age
	}
	return strings.Join(parts, " + ") + ", " + age
}

// SetRisk records risk as the report's data at risk and RPO.
func (rep *DrillReport) SetRisk(risk Risk) {
	rep.Risk, rep.RPO, rep.PrimaryKnown = risk, risk.Age, true
}

// LiveState is the primary database's Litestream state as a drill reads
// it, wherever the database lives.
type LiveState struct {
	// Files are the names of the level-0 transaction files, as Litestream
	// writes them in .<db>-litestream/ltx/0.
	Files []string
	// Header returns the first LTXHeaderSize bytes of one of them; it is
	// asked for at most two (the newest, and the oldest at risk), so a
	// caller reading a remote host makes few round trips.
	Header func(name string) ([]byte, error)
	// WALSize is the size of the database's -wal file, 0 when there is
	// none; WAL reads n bytes of it at offset (its header, and one frame
	// header: a drill reads no more of it).
	WALSize int64
	WAL     func(offset int64, n int) ([]byte, error)
}

// walFrameHeaderSize is the size of a WAL frame's header; its salts are
// at bytes 8..16, matching the WAL header's when the frame is valid.
const walFrameHeaderSize = 24

// MeasureRisk works out the data at risk at time at from the primary's
// live state and replicated, the replica's newest transaction. It fails
// with ErrReplicatorBehind when the primary's state is behind the
// replica: nothing it writes continues the replica.
func MeasureRisk(live LiveState, replicated uint64, at time.Time) (Risk, error) {
	risk := Risk{Replicated: replicated}
	newest, oldest, oldestTX := "", "", ltx.TXID(0)
	for _, name := range live.Files {
		lo, hi, err := ltx.ParseFilename(name)
		if err != nil {
			continue
		}
		if uint64(hi) >= risk.PrimaryTXID {
			risk.PrimaryTXID, newest = uint64(hi), name
		}
		if uint64(hi) > replicated && (oldest == "" || lo < oldestTX) {
			oldest, oldestTX = name, lo
		}
	}
	if newest == "" {
		return risk, errors.New("the database has no Litestream transaction files: nothing replicates it")
	}
	if risk.PrimaryTXID < replicated {
		return risk, fmt.Errorf("%w: the database's newest transaction is %d, the replica's %d; restart its replicator (the sidecar, or the app with embedded replication) and run `mage replica:verify`",
			ErrReplicatorBehind, risk.PrimaryTXID, replicated)
	}
	read := func(name string) (ltx.Header, error) {
		var hdr ltx.Header
		b, err := live.Header(name)
		if err == nil {
			err = hdr.UnmarshalBinary(b)
		}
		if err != nil {
			return hdr, fmt.Errorf("read the header of %s: %w", name, err)
		}
		return hdr, nil
	}
	last, err := read(newest)
	if err != nil {
		return risk, err
	}
	if live.WALSize > walHeaderSize && live.WAL != nil {
		if risk.PendingWAL, err = pendingWAL(live, last); err != nil {
			return risk, err
		}
	}
	switch {
	case risk.PrimaryTXID > replicated:
		risk.Commits = risk.PrimaryTXID - replicated
		first := last
		if oldest != newest {
			if first, err = read(oldest); err != nil {
				return risk, err
			}
		}
		risk.Oldest = time.UnixMilli(first.Timestamp).UTC()
	case risk.PendingWAL > 0:
		risk.Oldest = time.UnixMilli(last.Timestamp).UTC()
	default:
		return risk, nil
	}
	risk.Age = max(at.Sub(risk.Oldest), 0)
	return risk, nil
}

// pendingWAL is how much of the WAL follows Litestream's last take
// (last): the bytes from there on when a valid frame (of the WAL's
// current salts) starts there, none when what follows is stale frames
// of an earlier WAL generation.
func pendingWAL(live LiveState, last ltx.Header) (int64, error) {
	hdr, err := live.WAL(0, walHeaderSize)
	if err != nil || len(hdr) < walHeaderSize {
		return 0, fmt.Errorf("read the WAL header: %v", orShort(err))
	}
	salt1, salt2 := binary.BigEndian.Uint32(hdr[16:]), binary.BigEndian.Uint32(hdr[20:])
	end := int64(walHeaderSize) // a WAL restarted since the last take: all of it is new
	if salt1 == last.WALSalt1 && salt2 == last.WALSalt2 {
		end = last.WALOffset + last.WALSize // the same WAL: what follows the last take
	}
	if end+walFrameHeaderSize > live.WALSize {
		return 0, nil
	}
	frame, err := live.WAL(end, walFrameHeaderSize)
	if err != nil || len(frame) < walFrameHeaderSize {
		return 0, fmt.Errorf("read the WAL frame at %d: %v", end, orShort(err))
	}
	if binary.BigEndian.Uint32(frame[8:]) != salt1 || binary.BigEndian.Uint32(frame[12:]) != salt2 {
		return 0, nil
	}
	return live.WALSize - end, nil
}

func orShort(err error) error {
	if err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

// LocalRisk measures the data at risk of the primary database at dbPath,
// which this process can read.
func LocalRisk(dbPath string, replicated uint64, at time.Time) (Risk, error) {
	dir := TransactionsDir(dbPath)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Risk{}, err
	}
	live := LiveState{Header: func(name string) ([]byte, error) { return readHead(filepath.Join(dir, name), LTXHeaderSize) }}
	for _, e := range entries {
		live.Files = append(live.Files, e.Name())
	}
	if st, err := os.Stat(dbPath + "-wal"); err == nil {
		live.WALSize = st.Size()
		live.WAL = func(offset int64, n int) ([]byte, error) { return readAt(dbPath+"-wal", offset, n) }
	}
	return MeasureRisk(live, replicated, at)
}

func readHead(file string, n int) ([]byte, error) { return readAt(file, 0, n) }

func readAt(file string, offset int64, n int) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	_, err = f.ReadAt(b, offset)
	return b, err
}

// AppendDrillLog appends report to the drill log at path as one JSON
// line, creating the file and its directory when missing. Every kind of
// drill writes the one log through it: Drill its DrillReport, and
// deploy's host and whole-app drills theirs (an app drill's line has
// "kind":"app"). O_APPEND keeps lines whole when drills run at once.
func AppendDrillLog(path string, report any) error {
	b, err := json.Marshal(report)
	if err != nil {
		return fmt.Errorf("drill log %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("drill log %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("drill log %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("drill log %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("drill log %s: %w", path, err)
	}
	return nil
}

// ReadDrillLog returns every report in a drill log, oldest first.
func ReadDrillLog(path string) ([]DrillReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("drill log %s: %w", path, err)
	}
	var reps []DrillReport
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var rep DrillReport
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			return reps, fmt.Errorf("drill log %s line %d: %w", path, i+1, err)
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// PrintDrills writes reports as a table a person reads: one row per
// drill with its result, RTO, RPO, sizes and what failed.
func PrintDrills(w io.Writer, reports ...DrillReport) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tREPLICA\tRESULT\tRTO\tAT RISK (RPO)\tREPLICA AGE\tTXID\tOBJECTS\tDOWNLOADED\tSIZE\tINTEGRITY\tQUERIES\tERROR")
	for _, r := range reports {
		result := "pass"
		if !r.Passed {
			result = "FAIL"
		}
		rpo := "unknown"
		if r.PrimaryKnown {
			rpo = r.Risk.String()
		}
		passed := 0
		for _, q := range r.Queries {
			if q.Passed {
				passed++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d/%d\t%s\n",
			r.Started.Format("2006-01-02 15:04:05"), r.Replica, result, r.RTO.Round(time.Millisecond), rpo, r.Age.Round(time.Millisecond),
			r.Restored.TXID, r.Objects, size(r.Downloaded), size(r.Size), orDash(r.Integrity), passed, len(r.Queries), orDash(r.Error))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
