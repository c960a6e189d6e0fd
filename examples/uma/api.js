// A photo API protected with UMA 2.0: a request needs an RPT that grants the scope of its
// resource; without one it gets a 401 with a permission ticket for the requesting party.
//   OXD_CONFIG (default api.cfg: the resource server's own oxd site), PORT (default 4000)
const express = require('express');
const { umaProtect, oxdErrorHandler } = require('express-oxd');

const VIEW = 'https://photos.example/scopes/view';
const photos = [
  { id: 1, title: 'Harbour at dawn' },
  { id: 2, title: 'Snow on the pass' },
];

const app = express();
const protect = umaProtect(
  [
    { path: '/photos', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
    { path: '/photos/:id', conditions: [{ httpMethods: ['GET'], scopes: [VIEW] }] },
  ],
  { config: process.env.OXD_CONFIG || 'api.cfg' },
);
app.use('/api', protect);
app.get('/api/photos', (req, res) => res.json({ photos }));
app.get('/api/photos/:id', (req, res) => {
  const photo = photos.find((candidate) => String(candidate.id) === req.params.id);
  if (photo) res.json(photo);
  else res.status(404).json({ error: 'not_found' });
});
app.use(oxdErrorHandler());

const server = app.listen(Number(process.env.PORT ?? 4000), '127.0.0.1', () => {
  console.log(`Listening on http://127.0.0.1:${server.address().port}/ (photo API)`);
});
process.once('SIGTERM', () => server.close(() => protect.client.close()));
