// Command slipway-drill runs one restore drill where it is started and
// prints the report as JSON: Slipway runs it on a host, in a disposable
// container, so the drill measures that host's own path to the replica
// and its own disk (deploy.Session.DrillOnHost).
//
// It reads the drill from $SLIPWAY_DRILL (replicate.DrillSpecEnv), a
// replicate.DrillSpec as JSON; the S3 credentials come from the
// environment under the replica's secret names. It exits 1 when the
// drill fails.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/slipwayhq/slipway/replicate"
)

func main() {
	var spec replicate.DrillSpec
	if err := json.Unmarshal([]byte(os.Getenv(replicate.DrillSpecEnv)), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "slipway-drill: $"+replicate.DrillSpecEnv+":", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	rep, err := replicate.Drill(ctx, spec.Replica, spec.Options())
	json.NewEncoder(os.Stdout).Encode(rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "slipway-drill:", err)
		os.Exit(1)
	}
}
