// Command sink answers every request with 200 and nothing else: the load generator's own
// ceiling is measured against it, so a benchmark can show the generator is not the bottleneck.
package main

import (
	"io"
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8098", nil))
}
