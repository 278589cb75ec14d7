package replicate

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/superfly/ltx"
)

// ltxHeader is the header bytes of a level-0 file of one transaction.
func ltxHeader(t *testing.T, tx ltx.TXID, at time.Time) []byte {
	t.Helper()
	h := ltx.Header{Version: ltx.Version, PageSize: 4096, Commit: 2, MinTXID: tx, MaxTXID: tx, Timestamp: at.UnixMilli(),
		PreApplyChecksum: ltx.ChecksumFlag | 1}
	b, err := h.MarshalBinary()
	require.NoError(t, err)
	return b
}

func TestMeasureRisk(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	names := []string{ltx.FormatFilename(1, 5), ltx.FormatFilename(6, 6), ltx.FormatFilename(7, 7), ltx.FormatFilename(8, 8), "junk.tmp"}
	headers := map[string][]byte{
		ltx.FormatFilename(6, 6): ltxHeader(t, 6, t0),
		ltx.FormatFilename(7, 7): ltxHeader(t, 7, t0.Add(time.Second)),
		ltx.FormatFilename(8, 8): ltxHeader(t, 8, t0.Add(2*time.Second)),
	}
	var asked []string
	header := func(name string) ([]byte, error) {
		asked = append(asked, name)
		if b, ok := headers[name]; ok {
			return b, nil
		}
		return nil, errors.New("no such file")
	}

	t.Run("the commits past the replica, aged from the oldest", func(t *testing.T) {
		asked = nil
		risk, err := MeasureRisk(names, header, 6, t0.Add(5*time.Second))
		require.NoError(t, err)
		assert.Equal(t, Risk{PrimaryTXID: 8, Replicated: 6, Commits: 2, Oldest: t0.Add(time.Second), Age: 4 * time.Second}, risk)
		assert.Equal(t, []string{ltx.FormatFilename(7, 7)}, asked, "one header read: the oldest at risk")
		assert.Equal(t, "2 commits, 4s", risk.String())
	})
	t.Run("nothing at risk when the replica holds every commit, however old", func(t *testing.T) {
		asked = nil
		risk, err := MeasureRisk(names, header, 8, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, uint64(0), risk.Commits)
		assert.Zero(t, risk.Age, "an idle app risks nothing")
		assert.Empty(t, asked)
		assert.Equal(t, "0 commits", risk.String())
	})
	t.Run("a restored primary behind its replica risks nothing", func(t *testing.T) {
		risk, err := MeasureRisk(names, header, 20, t0)
		require.NoError(t, err)
		assert.Equal(t, uint64(0), risk.Commits)
	})
	t.Run("no Litestream state is an error, not a zero", func(t *testing.T) {
		_, err := MeasureRisk([]string{"junk"}, header, 1, t0)
		require.ErrorContains(t, err, "nothing replicates it")
	})
	t.Run("reads the files beside a local database", func(t *testing.T) {
		dir := t.TempDir()
		l0 := filepath.Join(dir, ".app.db-litestream", "ltx", "0")
		require.NoError(t, os.MkdirAll(l0, 0o755))
		for name, b := range headers {
			require.NoError(t, os.WriteFile(filepath.Join(l0, name), append(b, make([]byte, 64)...), 0o644))
		}
		risk, err := LocalRisk(filepath.Join(dir, "app.db"), 7, t0.Add(3*time.Second))
		require.NoError(t, err)
		assert.Equal(t, uint64(1), risk.Commits)
		assert.Equal(t, time.Second, risk.Age)
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
