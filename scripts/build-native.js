console.log('native: not yet');
