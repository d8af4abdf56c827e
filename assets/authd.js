// authd's pages work without this file. With it, each "Show password" box (hidden until now)
// shows or hides the password fields of its form as it is ticked.
for (const box of document.querySelectorAll('input[data-show-password]')) {
  const fields = box.form.querySelectorAll('input[type="password"]');
  box.closest('.show-password').hidden = false;
  box.addEventListener('change', () => {
    for (const field of fields) field.type = box.checked ? 'text' : 'password';
  });
}
