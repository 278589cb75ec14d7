package replicate

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/superfly/ltx"
)

// ltxHeader is the header bytes of a level-0 file of one transaction,
// taken from the WAL with the given salts up to end.
func ltxHeader(t *testing.T, tx ltx.TXID, at time.Time, salt uint32, end int64) []byte {
	t.Helper()
	h := ltx.Header{Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: 4096, Commit: 2, MinTXID: tx, MaxTXID: tx,
		Timestamp: at.UnixMilli(), WALOffset: walHeaderSize, WALSize: end - walHeaderSize, WALSalt1: salt, WALSalt2: salt}
	b, err := h.MarshalBinary()
	require.NoError(t, err)
	return b
}

// wal is a WAL of the given salts with frames frames of that salt and
// stale frames after them from an earlier generation.
func wal(salt uint32, frames, stale int) []byte {
	const frame = 4096 + 24
	b := make([]byte, walHeaderSize+(frames+stale)*frame)
	binary.BigEndian.PutUint32(b[16:], salt)
	binary.BigEndian.PutUint32(b[20:], salt)
	for i := range frames + stale {
		s := salt
		if i >= frames {
			s = salt - 1
		}
		off := walHeaderSize + i*frame
		binary.BigEndian.PutUint32(b[off+8:], s)
		binary.BigEndian.PutUint32(b[off+12:], s)
	}
	return b
}

func withWAL(live LiveState, b []byte) LiveState {
	live.WALSize = int64(len(b))
	live.WAL = func(offset int64, n int) ([]byte, error) { return b[offset : offset+int64(n)], nil }
	return live
}

func TestMeasureRisk(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	const frame = 4096 + 24
	headers := map[string][]byte{
		ltx.FormatFilename(6, 6): ltxHeader(t, 6, t0, 7, walHeaderSize+2*frame),
		ltx.FormatFilename(7, 7): ltxHeader(t, 7, t0.Add(time.Second), 7, walHeaderSize+3*frame),
		ltx.FormatFilename(8, 8): ltxHeader(t, 8, t0.Add(2*time.Second), 7, walHeaderSize+4*frame),
	}
	var asked []string
	live := LiveState{
		Files: []string{ltx.FormatFilename(1, 5), ltx.FormatFilename(6, 6), ltx.FormatFilename(7, 7), ltx.FormatFilename(8, 8), "junk.tmp"},
		Header: func(name string) ([]byte, error) {
			asked = append(asked, name)
			if b, ok := headers[name]; ok {
				return b, nil
			}
			return nil, errors.New("no such file")
		},
	}
	live = withWAL(live, wal(7, 4, 0))

	t.Run("the commits past the replica, aged from the oldest", func(t *testing.T) {
		asked = nil
		risk, err := MeasureRisk(live, 6, t0.Add(5*time.Second))
		require.NoError(t, err)
		assert.Equal(t, Risk{PrimaryTXID: 8, Replicated: 6, Commits: 2, Oldest: t0.Add(time.Second), Age: 4 * time.Second}, risk)
		assert.ElementsMatch(t, []string{ltx.FormatFilename(8, 8), ltx.FormatFilename(7, 7)}, asked, "two headers read: the newest and the oldest at risk")
		assert.Equal(t, "2 commits, 4s", risk.String())
	})
	t.Run("nothing at risk when the replica holds every commit, however old", func(t *testing.T) {
		risk, err := MeasureRisk(live, 8, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, uint64(0), risk.Commits)
		assert.Zero(t, risk.Age, "an idle app risks nothing")
		assert.Equal(t, "0 commits", risk.String())
	})
	t.Run("WAL no replicator took is at risk too", func(t *testing.T) {
		stalled := withWAL(live, wal(7, 7, 0)) // three frames after Litestream's last take, at t0+2s
		risk, err := MeasureRisk(stalled, 8, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, int64(3*frame), risk.PendingWAL)
		assert.Equal(t, 58*time.Second, risk.Age, "at most since the last take")
		assert.Equal(t, "12.1 KiB of WAL, up to 58s", risk.String())

		risk, err = MeasureRisk(withWAL(live, wal(9, 7, 0)), 8, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, int64(7*frame), risk.PendingWAL, "a WAL restarted since the last take is all new")

		risk, err = MeasureRisk(withWAL(live, wal(7, 4, 3)), 8, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Zero(t, risk.PendingWAL, "stale frames of an earlier WAL after the last take are not data")
		assert.Zero(t, risk.Age)
	})
	t.Run("a replicator behind its replica is named, not counted as safe", func(t *testing.T) {
		_, err := MeasureRisk(live, 52, t0)
		require.ErrorIs(t, err, ErrReplicatorBehind)
		assert.ErrorContains(t, err, "newest transaction is 8, the replica's 52")
	})
	t.Run("no Litestream state is an error, not a zero", func(t *testing.T) {
		_, err := MeasureRisk(LiveState{Files: []string{"junk"}}, 1, t0)
		require.ErrorContains(t, err, "nothing replicates it")
	})
	t.Run("reads the files beside a local database", func(t *testing.T) {
		dir := t.TempDir()
		l0 := filepath.Join(dir, ".app.db-litestream", "ltx", "0")
		require.NoError(t, os.MkdirAll(l0, 0o755))
		for name, b := range headers {
			require.NoError(t, os.WriteFile(filepath.Join(l0, name), append(b, make([]byte, 64)...), 0o644))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "app.db-wal"), wal(7, 4, 0), 0o644))
		risk, err := LocalRisk(filepath.Join(dir, "app.db"), 7, t0.Add(3*time.Second))
		require.NoError(t, err)
		assert.Equal(t, uint64(1), risk.Commits)
		assert.Equal(t, time.Second, risk.Age)
		assert.Zero(t, risk.PendingWAL)
	})
}

func TestPrintDrillsShowsTheDataAtRiskBesideTheAge(t *testing.T) {
	var b []byte
	w := &sliceWriter{&b}
	known := DrillReport{Replica: "s3://b/app.db", Passed: true, Age: 90 * time.Second}
	known.SetRisk(Risk{Commits: 3, Age: 1200 * time.Millisecond})
	require.NoError(t, PrintDrills(w, known, DrillReport{Replica: "s3://b/other.db", Passed: true, Age: time.Hour}))
	out := string(b)
	assert.Contains(t, out, "AT RISK (RPO)")
	assert.Contains(t, out, "3 commits, 1.2s")
	assert.Contains(t, out, "1m30s")
	assert.Contains(t, out, "unknown", "a drill that could not read the primary says so")
	assert.Equal(t, 1200*time.Millisecond, known.RPO)
}

type sliceWriter struct{ b *[]byte }

func (w *sliceWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }
