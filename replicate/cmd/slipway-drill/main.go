// Command slipway-drill runs one restore drill where it is started and
// prints the report as JSON: Slipway runs it on a host, in a disposable
// container, so the drill measures that host's own path to the replica
// and its own disk (deploy.Session.DrillOnHost).
//
// It reads the drill from $SLIPWAY_DRILL, a JSON object with the
// replicate.Replica ("replica"), the replicate.DrillOptions fields "at"
// and "queries"; the S3 credentials come from the environment under the
// replica's secret names. It exits 1 when the drill fails.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/slipwayhq/slipway/replicate"
)

// Spec is what $SLIPWAY_DRILL holds.
type Spec struct {
	Replica replicate.Replica `json:"replica"`
	At      time.Time         `json:"at"`
	Queries []replicate.Query `json:"queries"`
}

func main() {
	var spec Spec
	if err := json.Unmarshal([]byte(os.Getenv("SLIPWAY_DRILL")), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "slipway-drill: $SLIPWAY_DRILL:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	rep, err := replicate.Drill(ctx, spec.Replica, replicate.DrillOptions{At: spec.At, Queries: spec.Queries})
	json.NewEncoder(os.Stdout).Encode(rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "slipway-drill:", err)
		os.Exit(1)
	}
}
