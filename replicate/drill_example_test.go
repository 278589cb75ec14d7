package replicate_test

import (
	"fmt"
	"os"
	"path/filepath"
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

// Every drill appends its report to one drill log, a JSON line each;
// read it back and print it as the table the weekly check shows.
func ExampleReadDrillLog() {
	dir, _ := os.MkdirTemp("", "drills")
	defer os.RemoveAll(dir)
	log := filepath.Join(dir, "drills.jsonl")
	started := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i, passed := range []bool{true, false} {
		rep := replicate.DrillReport{
			Replica: "s3://acme-shop/shop.db", Started: started.AddDate(0, 0, 7*i), Passed: passed,
			Restored: replicate.Position{TXID: uint64(4200 + i)}, RTO: 1200 * time.Millisecond,
			Objects: 3, Downloaded: 3 << 20, Size: 8 << 20, Integrity: "ok",
		}
		if !passed {
			rep.Integrity, rep.Error = "row 7 missing from index orders_by_day", "integrity check failed"
		}
		if err := replicate.AppendDrillLog(log, rep); err != nil {
			fmt.Println(err)
			return
		}
	}

	reports, err := replicate.ReadDrillLog(log)
	if err != nil {
		fmt.Println(err)
		return
	}
	replicate.PrintDrills(os.Stdout, reports...)
	// Output:
	// STARTED              REPLICA                 RESULT  RTO   AT RISK (RPO)  REPLICA AGE  TXID  OBJECTS  DOWNLOADED  SIZE     INTEGRITY                               QUERIES  ERROR
	// 2026-11-23 10:00:00  s3://acme-shop/shop.db  pass    1.2s  unknown        0s           4200  3        3.0 MiB     8.0 MiB  ok                                      0/0      -
	// 2026-11-30 10:00:00  s3://acme-shop/shop.db  FAIL    1.2s  unknown        0s           4201  3        3.0 MiB     8.0 MiB  row 7 missing from index orders_by_day  0/0      integrity check failed
}
