package replicate

import "time"

// The restore-drill program, which runs one Drill where it is started
// and prints its DrillReport as JSON: deploy.Session.DrillOnHost builds
// it as a static binary, runs it on a host in a disposable container, so
// the drill measures that host's own path to the replica and its own
// disk, and reads the report back. Both sides take these names from
// here, so the program and its caller cannot drift apart.
const (
	// DrillPackage is the program's Go package, and DrillBinary its path
	// in the image built from it.
	DrillPackage = "github.com/slipwayhq/slipway/replicate/cmd/slipway-drill"
	DrillBinary  = "/slipway-drill"
	// DrillSpecEnv names the env that holds the DrillSpec, as JSON.
	DrillSpecEnv = "SLIPWAY_DRILL"
)

// DrillSpec is the drill the program runs. The replica travels without
// S3.Secrets (a source does not travel): the program reads the
// credentials from its environment under the replica's secret names.
type DrillSpec struct {
	Replica Replica   `json:"replica"`
	At      time.Time `json:"at"`      // DrillOptions.At
	Queries []Query   `json:"queries"` // DrillOptions.Queries
}

// Options are the DrillOptions the spec stands for.
func (s DrillSpec) Options() DrillOptions { return DrillOptions{At: s.At, Queries: s.Queries} }
