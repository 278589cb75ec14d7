package replicate_test

import (
	"fmt"

	"github.com/slipwayhq/slipway/replicate"
)

// Litestream keeps its state beside the database, under a hidden name;
// a recovery moves it aside with the damaged file, by the same name
// relative to the volume.
func ExampleStateDir() {
	fmt.Println(replicate.StateDir("/data/shop.db"))
	fmt.Println(replicate.StateDir("shop.db"))
	fmt.Println(replicate.TransactionsDir("/data/shop.db"))
	// Output:
	// /data/.shop.db-litestream
	// .shop.db-litestream
	// /data/.shop.db-litestream/ltx/0
}
