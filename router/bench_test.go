package router

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHTTPProxy measures a small GET through the router, client and
// backend in the same process.
func BenchmarkHTTPProxy(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"code":0,"message":"Transport unknown"}`)
	}))
	defer be.Close()
	rt, err := New(Config{Services: map[string][]string{"system": {be.URL}}})
	if err != nil {
		b.Fatal(err)
	}
	front := httptest.NewServer(rt)
	defer front.Close()
	defer rt.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	url := front.URL + "/socket.io/?EIO=4&transport=polling"
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
