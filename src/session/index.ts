/** What express-oxd keeps in `req.session`: the stored login and the session plumbing. */
export * from './login';
export * from './store';
