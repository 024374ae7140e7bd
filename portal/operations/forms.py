from __future__ import annotations

from django import forms

from .csvio import TYPE_LABELS


class CsvUploadForm(forms.Form):
    object_type = forms.ChoiceField(label="What the file holds", choices=list(TYPE_LABELS.items()),
                                    widget=forms.RadioSelect, initial="customers")
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma-separated, the column names on the first line. "
                           "Nothing is saved until you have seen the check and chosen to apply it.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
                           error_messages={"empty": "The file is empty. Nothing was changed.",
                                           "required": "Choose the CSV file to import."})
