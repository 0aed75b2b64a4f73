// OAuth 2.0 Form Post Response Mode: submit the answer to the application at once. The button
// stays visible for browsers without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) {
    form.submit();
  }
});
