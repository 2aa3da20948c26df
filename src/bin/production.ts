// React (under react-email) picks its development or production build when it is first imported, and the
// development build's checks make every render about a quarter slower. The processes that render emails
// import this module first, so an unset NODE_ENV means production.
process.env.NODE_ENV ??= 'production';
