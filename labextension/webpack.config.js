// The labextension's webpack additions: the live panel's smoothing.js (one source of truth, no copy)
// is bundled under the name src/ imports it by.
const path = require('path');

module.exports = {
  resolve: {
    alias: {
      'jt-smoothing': path.resolve(__dirname, '../jupyter_tracker/notebook/static/smoothing.js')
    }
  }
};
