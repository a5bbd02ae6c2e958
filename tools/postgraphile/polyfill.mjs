// PostGraphile 5.1 calls Promise.withResolvers (Node 22); Node 20 lacks only that. Loaded with
// `node --import ./polyfill.mjs`, so nothing in node_modules is patched.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise, resolve, reject };
  };
}
