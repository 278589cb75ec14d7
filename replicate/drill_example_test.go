package replicate_test

import (
	"fmt"
	"time"

	"github.com/superfly/ltx"

	"github.com/slipwayhq/slipway/replicate"
)

// The data at risk on a host whose replica stopped at transaction 41:
// the host's Litestream state holds two transactions past it, the older
// committed 3 seconds before the drill (every header here says so).
func ExampleMeasureRisk() {
	drill := time.Date(2026, 12, 1, 10, 0, 3, 0, time.UTC)
	files := []string{ltx.FormatFilename(40, 40), ltx.FormatFilename(41, 41), ltx.FormatFilename(42, 42), ltx.FormatFilename(43, 43)}
	header := func(name string) ([]byte, error) {
		h := ltx.Header{Version: ltx.Version, Flags: ltx.HeaderFlagNoChecksum, PageSize: 4096, Commit: 1,
			MinTXID: 42, MaxTXID: 42, Timestamp: drill.Add(-3 * time.Second).UnixMilli()}
		return h.MarshalBinary()
	}
	risk, err := replicate.MeasureRisk(replicate.LiveState{Files: files, Header: header}, 41, drill)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(risk)
	// Output: 2 commits, 3s
}
